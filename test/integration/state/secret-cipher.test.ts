import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../../src/state';

describe('SecretCipher', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('round-trips a value, with a fresh IV each time', () => {
    const first = cipher.encrypt('s3cret-válue', 'secret:cc/clientSecret');
    const second = cipher.encrypt('s3cret-válue', 'secret:cc/clientSecret');
    expect(first.equals(second)).toBe(false);
    expect(first.subarray(1, 13).equals(second.subarray(1, 13))).toBe(false);
    expect(cipher.decrypt(first, 'secret:cc/clientSecret')).toBe('s3cret-válue');
    expect(first.includes(Buffer.from('s3cret'))).toBe(false);
  });

  it('refuses another row’s AAD, an altered byte, and another key', () => {
    const blob = cipher.encrypt('value', 'secret:cc/clientSecret');
    expect(() => cipher.decrypt(blob, 'secret:other/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret-undecryptable' }),
    );
    const altered = Buffer.from(blob);
    altered[altered.length - 1] = (altered.at(-1) ?? 0) ^ 1;
    expect(() => cipher.decrypt(altered, 'secret:cc/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret-undecryptable' }),
    );
    expect(() => new SecretCipher(randomBytes(32)).decrypt(blob, 'secret:cc/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret-undecryptable' }),
    );
    expect(() => cipher.decrypt(blob.subarray(0, 20), 'secret:cc/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret-undecryptable' }),
    );
  });

  it('fingerprints with a keyed HMAC: stable per key, different across keys, not a plain hash', () => {
    const key = randomBytes(32);
    const a = new SecretCipher(key);
    const b = new SecretCipher(Buffer.from(key));
    expect(a.fingerprint('token')).toBe(b.fingerprint('token'));
    expect(a.fingerprint('token')).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(a.fingerprint('token')).not.toBe(a.fingerprint('token2'));
    expect(new SecretCipher(randomBytes(32)).fingerprint('token')).not.toBe(a.fingerprint('token'));
    expect(a.keyCheck).toBe(b.keyCheck);
    expect(a.keyCheck).not.toBe(new SecretCipher(randomBytes(32)).keyCheck);
  });
});
