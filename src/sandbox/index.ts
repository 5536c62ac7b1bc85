export * from './contact-table';
export * from './sandbox-account';
export * from './sandbox-faults';
export * from './sandbox-seed';
export * from './sandbox-traffic';
export * from './start-sandbox';

/** The codes of the sandbox's own errors (docs/troubleshooting.md). */
export const sandboxErrorCodes = {
  'invalid-sandbox-seed': 'the seed or state file is not valid sandbox data',
  'sandbox-host': 'the sandbox was asked to listen on an address that is not loopback',
} as const;
