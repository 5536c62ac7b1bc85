import type { SecretName } from './secret-store';

/** Binds a secret's ciphertext to its row: moved to another row, it no longer decrypts. */
export function secretAad(connection: string, name: SecretName): string {
  return `secret:${connection}/${name}`;
}

/** Binds a connection's rotated tokens to it, as {@link secretAad} binds a secret. */
export function tokensAad(connection: string): string {
  return `tokens:${connection}`;
}
