import { createHash } from 'node:crypto';

/**
 * A fingerprint of a refresh token that cannot reveal it: `sha256:` and the hex SHA-256 of the token
 * (with a fixed prefix, so the value is never a plain hash of the token that some other system might
 * also store). Refresh tokens are long random strings, so the hash cannot be reversed by guessing.
 *
 * The state store and the reconciler use this same function for `StoredTokens.bootstrapFingerprint`:
 * a manifest whose bootstrap token has another fingerprint was re-authorised, and its token replaces
 * the stored chain.
 */
export function refreshTokenFingerprint(refreshToken: string): string {
  return `sha256:${createHash('sha256').update('exportctl refresh token\0').update(refreshToken).digest('hex')}`;
}
