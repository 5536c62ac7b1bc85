import type { ManifestKind } from '../../src/config';
import { type ExportctlResourceProvider, exportctlProvider } from './resource-provider';

/**
 * One provider object per kind, shared by every resource of that kind, so Pulumi serializes each
 * once (it caches serialized providers by object).
 */
export const kindProviders: { readonly [K in ManifestKind]: ExportctlResourceProvider } = {
  Access: exportctlProvider('Access'),
  Refresh: exportctlProvider('Refresh'),
  ProfileSource: exportctlProvider('ProfileSource'),
  Connection: exportctlProvider('Connection'),
  ExportDestination: exportctlProvider('ExportDestination'),
};
