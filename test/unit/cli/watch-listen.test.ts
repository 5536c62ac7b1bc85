import { describe, expect, it } from 'vitest';
import { parseListen } from '../../../src/cli/commands/watch-command';

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
});
