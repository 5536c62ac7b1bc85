import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKeyFile, parseSecretKey, readKeyFile, SecretKeyError } from '../../../src/state';
import { tempFolder } from '../../support/temp-folder';

describe('parseSecretKey', () => {
  const key = randomBytes(32);

  it('accepts 64 hex digits and base64 (standard, url-safe, unpadded, with whitespace)', () => {
    expect(parseSecretKey(key.toString('hex'), 'test')).toEqual(key);
    expect(parseSecretKey(key.toString('hex').toUpperCase(), 'test')).toEqual(key);
    expect(parseSecretKey(key.toString('base64'), 'test')).toEqual(key);
    expect(parseSecretKey(`  ${key.toString('base64url')}\n`, 'test')).toEqual(key);
    expect(parseSecretKey(key.toString('base64').replace(/=$/, ''), 'test')).toEqual(key);
  });

  it.each([
    ['a passphrase', 'correct horse battery staple'],
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['48 bytes of base64', randomBytes(48).toString('base64')],
    ['63 hex digits', randomBytes(32).toString('hex').slice(1)],
    ['base64 with a stray character', `${randomBytes(32).toString('base64').slice(0, 42)}*=`],
  ])('refuses %s with secret-key-invalid, without echoing it', (_label, text) => {
    let caught: unknown;
    try {
      parseSecretKey(text, 'EXPORTCTL_SECRET_KEY');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SecretKeyError);
    expect((caught as SecretKeyError).code).toBe('secret-key-invalid');
    expect((caught as SecretKeyError).message).toContain('EXPORTCTL_SECRET_KEY');
    expect((caught as SecretKeyError).message).not.toContain(text);
  });
});

describe('createKeyFile', () => {
  it('writes a new base64 key with mode 0600 and leaves no temporary file', () => {
    const folder = tempFolder();
    const path = join(folder, 'secret.key');
    const key = createKeyFile(path);
    expect(key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${key.toString('base64')}\n`);
    expect(readKeyFile(path)).toEqual(key);
    expect(readdirSync(folder)).toEqual(['secret.key']);
  });

  it('never overwrites: a second creation returns the key already there', () => {
    const path = join(tempFolder(), 'secret.key');
    const existing = randomBytes(32);
    writeFileSync(path, existing.toString('hex'), { mode: 0o600 });
    expect(createKeyFile(path)).toEqual(existing);
    expect(readFileSync(path, 'utf8')).toBe(existing.toString('hex'));
  });

  it('reads undefined for a missing file and refuses a malformed one', () => {
    const folder = tempFolder();
    expect(readKeyFile(join(folder, 'absent.key'))).toBeUndefined();
    writeFileSync(join(folder, 'bad.key'), 'not a key');
    expect(() => readKeyFile(join(folder, 'bad.key'))).toThrow(
      expect.objectContaining({ code: 'secret-key-invalid' }),
    );
  });
});
