import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SecretKeyError } from './state-errors';

/** AES-256 needs 32 bytes. */
export const SECRET_KEY_BYTES = 32;

/** The environment variable that holds the key, when the key file is not used. */
export const SECRET_KEY_ENV = 'EXPORTCTL_SECRET_KEY';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
// 32 bytes are 43 base64 characters and one '=' of padding; url-safe letters are accepted too.
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/**
 * Reads a 32-byte key written as 64 hex digits or as base64 (standard or url-safe, padding
 * optional); surrounding whitespace is ignored. Anything else throws `secret-key-invalid`; the
 * message names `source` and the length found, never the value.
 */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (BASE64_KEY.test(trimmed)) {
    const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === SECRET_KEY_BYTES) return key;
  }
  throw new SecretKeyError(
    'secret-key-invalid',
    `${source} is not a 32-byte key: it must be 44 base64 characters or 64 hex digits (it has ${trimmed.length} characters)`,
    {
      context: { source, length: trimmed.length },
      hint: 'generate one with `openssl rand -base64 32`; keep it where the state can be read again',
    },
  );
}

/** The key file's content, parsed, or undefined if the file does not exist. */
export function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseSecretKey(text, `the key file ${path}`);
}

/**
 * Creates the key file with a new random key, mode 0600, and returns the key. Atomic and never
 * overwriting: the key is written to a private temporary file that is then hard-linked into place,
 * so a reader never sees a partial file, and when another process created the file first (the link
 * fails with EEXIST), that process's key is read and returned instead.
 */
export function createKeyFile(path: string): Buffer {
  const key = randomBytes(SECRET_KEY_BYTES);
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}`,
  );
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    // The umask cannot widen 0600, but a filesystem default ACL could: say exactly what we mean.
    chmodSync(temporary, 0o600);
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const existing = readKeyFile(path);
    if (existing === undefined) throw error;
    return existing;
  } finally {
    unlinkSync(temporary);
  }
  return key;
}
