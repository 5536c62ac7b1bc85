import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../../src/net';

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.4.5.6', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    '0.0.0.0',
    '10.0.0.1',
    '128.0.0.1',
    '::',
    '[::]',
    'api.cc.email',
    'localhost.example.com',
    '127.0.0.1.nip.io',
    '',
  ])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
