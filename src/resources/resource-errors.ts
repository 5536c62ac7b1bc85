import { ExportctlError } from '../errors';

/**
 * A resource could not be created or changed because the world does not match the manifest: the
 * credentials are refused, the list does not exist, the source is unreadable. Nothing was stored.
 * Codes: `credentials-rejected`, `list-not-found`, `source-unreadable`, `dependency-not-applied`,
 * `connection-in-use`, `resource-in-use` (the Pulumi provider: a connection or source that a destination
 * still uses).
 */
export class ResourceVerificationError extends ExportctlError {}
