import { problemCodes } from '../../src/config';
import { constantContactErrorCodes } from '../../src/constant-contact';
import { runEngineErrorCodes } from '../../src/engine';
import { usageErrorCodes } from '../../src/errors';
import { rowIssueCodes, sourceErrorCodes } from '../../src/profiles';
import { savedPlanErrorCodes } from '../../src/reconcile';
import { resourceErrorCodes } from '../../src/resources';
import { sandboxErrorCodes } from '../../src/sandbox';
import { stateErrorCodes } from '../../src/state';

export { providerErrorCodes as dynamicProviderErrorCodes } from '../../provider/dynamic';

/** Every registry of stable error codes, by layer: each code must be documented. */
export const errorCodeRegistries: Record<string, Readonly<Record<string, string>>> = {
  manifests: problemCodes,
  'constant-contact': constantContactErrorCodes,
  usage: usageErrorCodes,
  runs: runEngineErrorCodes,
  rows: rowIssueCodes,
  sources: sourceErrorCodes,
  resources: resourceErrorCodes,
  'saved plans': savedPlanErrorCodes,
  sandbox: sandboxErrorCodes,
  state: stateErrorCodes,
};
