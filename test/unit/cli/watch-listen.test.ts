import { describe, expect, it } from 'vitest';
import { listenToken, parseListen } from '../../../src/cli/commands/watch-command';

describe('watch --listen HOST:PORT', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['127.0.0.2:0', { host: '127.0.0.2', port: 0 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
  ])('accepts the loopback address %s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each(['0.0.0.0:9464', '10.0.0.5:9464', 'example.com:80', '[::]:9464'])(
    'refuses %s: the endpoint has no authentication',
    (text) => {
      expect(() => parseListen(text)).toThrow(/loopback only/);
    },
  );

  it.each(['9464', '127.0.0.1', '127.0.0.1:99999', ':9464'])('refuses %s: not HOST:PORT', (text) => {
    expect(() => parseListen(text)).toThrow(/is not HOST:PORT/);
  });

  it('accepts a non-loopback address when a token protects the endpoint', () => {
    expect(parseListen('0.0.0.0:9464', true)).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('refuses to start without the token --listen-token-env names, and never prints it', () => {
    expect(() => listenToken('WATCH_TOKEN', {})).toThrow(/WATCH_TOKEN is not set/);
    expect(() => listenToken('WATCH_TOKEN', { WATCH_TOKEN: 'short-secret' })).toThrow(
      /shorter than 16 characters/,
    );
    try {
      listenToken('WATCH_TOKEN', { WATCH_TOKEN: 'short-secret' });
    } catch (error) {
      expect(String(error)).not.toContain('short-secret');
    }
    expect(listenToken('WATCH_TOKEN', { WATCH_TOKEN: 'a-long-random-token-1234' })).toBe(
      'a-long-random-token-1234',
    );
    expect(listenToken(undefined, {})).toBeUndefined();
  });
});
