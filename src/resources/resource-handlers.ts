import type { ManifestKind } from '../config';
import { connectionHandler } from './connection-handler';
import { exportDestinationHandler } from './export-destination-handler';
import { accessHandler, refreshHandler } from './plain-handlers';
import { profileSourceHandler } from './profile-source-handler';
import type { ResourceHandler } from './resource-handler';

/** The handler of each kind. */
export const resourceHandlers: { readonly [K in ManifestKind]: ResourceHandler } = {
  Access: accessHandler as unknown as ResourceHandler,
  Refresh: refreshHandler as unknown as ResourceHandler,
  ProfileSource: profileSourceHandler as unknown as ResourceHandler,
  Connection: connectionHandler as unknown as ResourceHandler,
  ExportDestination: exportDestinationHandler as unknown as ResourceHandler,
};
