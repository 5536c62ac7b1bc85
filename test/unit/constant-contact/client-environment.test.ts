import { describe, expect, it } from 'vitest';
import {
  ConstantContactError,
  clientEnvironmentDefaults,
  clientEnvironmentVariables,
} from '../../../src/constant-contact';

const { requestTimeoutMs, retryNotices } = clientEnvironmentVariables;

describe('clientEnvironmentDefaults', () => {
  it('is nothing when the variables are unset', () => {
    expect(clientEnvironmentDefaults({})).toEqual({});
  });

  it('reads the request timeout in milliseconds, and a retry notice logger for stderr', () => {
    const defaults = clientEnvironmentDefaults({ [requestTimeoutMs]: '2500', [retryNotices]: 'stderr' });
    expect(defaults.callMs).toBe(2500);
    expect(typeof defaults.logger?.warn).toBe('function');
  });

  it('refuses a value it cannot use, naming the variable', () => {
    for (const env of [
      { [requestTimeoutMs]: '30s' },
      { [requestTimeoutMs]: '0' },
      { [retryNotices]: 'syslog' },
    ]) {
      const error = (() => {
        try {
          return clientEnvironmentDefaults(env);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(ConstantContactError);
      expect(error).toMatchObject({ code: 'invalid-argument' });
      expect((error as Error).message).toContain(Object.keys(env)[0]);
    }
  });
});
