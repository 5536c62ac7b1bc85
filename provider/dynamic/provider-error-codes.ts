/** The codes of errors the Pulumi provider raises itself (docs/troubleshooting.md). */
export const providerErrorCodes = {
  'invalid-config': 'a stack config value (exportctl:lockTimeout, ...) cannot be used',
  'invalid-inputs': "a resource's inputs do not make a valid manifest when Pulumi creates or updates it",
  'provider-build-missing':
    "a stack's provider cannot find the built code of exportctl: not installed where Pulumi runs, not built, or without the module",
} as const;
