import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { SECRET_KEY_BYTES } from './secret-key';
import { SecretKeyError } from './state-errors';

const FORMAT_V1 = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts, decrypts and fingerprints secret values with subkeys derived (HKDF-SHA256) from one
 * 32-byte key, so the encryption key is never used for anything else.
 *
 * Ciphertext layout: a format byte (1), a random 12-byte IV, the 16-byte GCM tag, then AES-256-GCM
 * ciphertext. The caller's `aad` (e.g. `secret:marketing-cc/clientSecret`) is authenticated, so a
 * value copied to another row fails to decrypt instead of decrypting as that row's value.
 */
export class SecretCipher {
  private readonly encryptionKey: Buffer;
  private readonly fingerprintKey: Buffer;
  /** Identifies the key without revealing it; stored once to tell a wrong key from a damaged row. */
  readonly keyCheck: string;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new RangeError(`a secret key has ${SECRET_KEY_BYTES} bytes`);
    this.encryptionKey = derive(key, 'exportctl/v1 encryption');
    this.fingerprintKey = derive(key, 'exportctl/v1 fingerprint');
    this.keyCheck = createHmac('sha256', derive(key, 'exportctl/v1 key check'))
      .update('exportctl secret key check')
      .digest('hex');
  }

  /** Encrypts `plaintext` under a fresh random IV, bound to `aad`. */
  encrypt(plaintext: string, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), body]);
  }

  /**
   * Decrypts what {@link encrypt} produced with the same `aad`. A wrong key, another row's `aad` or
   * any altered byte throws `secret-undecryptable`: never a wrong plaintext.
   */
  decrypt(blob: Uint8Array, aad: string): string {
    const data = Buffer.from(blob);
    if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== FORMAT_V1) throw undecryptable(aad);
    const iv = data.subarray(1, 1 + IV_BYTES);
    const tag = data.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(data.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch (cause) {
      throw undecryptable(aad, cause);
    }
  }

  /**
   * `hmac-sha256:` and the hex HMAC of `value` under a key derived from the secret key: equal values
   * give equal fingerprints within one state, and nothing about the value can be learned or guessed
   * offline from it without the key (which a plain hash would allow for short or known values).
   */
  fingerprint(value: string): string {
    return `hmac-sha256:${createHmac('sha256', this.fingerprintKey).update(value, 'utf8').digest('hex')}`;
  }
}

function derive(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, 'exportctl', info, SECRET_KEY_BYTES));
}

function undecryptable(aad: string, cause?: unknown): SecretKeyError {
  return new SecretKeyError('secret-undecryptable', `the stored value ${aad} fails its integrity check`, {
    ...(cause === undefined ? {} : { cause }),
    context: { value: aad },
    hint: 'it was altered or copied from another row; store it again (exportctl apply re-reads the references)',
  });
}
