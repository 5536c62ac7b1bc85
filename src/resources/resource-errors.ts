import { ExportctlError } from '../errors';

/**
 * A resource could not be created or changed because the world does not match the manifest: the
 * credentials are refused, the list does not exist, the source is unreadable. Nothing was stored.
 * Codes: `credentials-rejected`, `list-not-found`, `custom-field-not-found`, `source-unreadable`, `dependency-not-applied`,
 * `connection-in-use`, `resource-in-use` (the Pulumi provider: a connection or source that a destination
 * still uses).
 */
export class ResourceVerificationError extends ExportctlError {}

/** The codes of errors the resource handlers raise themselves (docs/troubleshooting.md). */
export const resourceErrorCodes = {
  'dependency-not-applied':
    "a destination's connection or source (or a connection's stored secrets) is not in the state",
  'list-not-found': "a destination's list does not exist in its connection's Constant Contact account",
  'custom-field-not-found':
    "a destination maps a custom field that its connection's Constant Contact account does not define",
  'source-unreadable': 'a source cannot serve the fields the resource needs',
  'resource-in-use': 'a connection or source cannot be deleted while a destination uses it',
} as const;
