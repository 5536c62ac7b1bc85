import { describe, expect, it } from 'vitest';
import {
  classifyNetworkError,
  classifyResponse,
  parseErrorBody,
  parseRetryAfter,
} from '../../../src/constant-contact';

const now = Date.UTC(2026, 10, 22, 12);

describe('parseErrorBody', () => {
  it('reads the array body most errors have, joining several entries', () => {
    expect(
      parseErrorBody([
        { error_key: 'contacts.api.validation.error', error_message: 'first_name is too long' },
        { error_key: 'contacts.api.validation.error', error_message: 'email is missing' },
      ]),
    ).toEqual({
      errorKey: 'contacts.api.validation.error; contacts.api.validation.error',
      errorMessage: 'first_name is too long; email is missing',
    });
  });

  it('reads the single object of rate-limit and auth errors, and the OAuth shape', () => {
    expect(parseErrorBody({ error_key: 'throttled', error_message: 'Too many' })).toEqual({
      errorKey: 'throttled',
      errorMessage: 'Too many',
    });
    expect(parseErrorBody({ error: 'invalid_grant', error_description: 'expired' })).toEqual({
      errorKey: 'invalid_grant',
      errorMessage: 'expired',
    });
    expect(parseErrorBody('[{"error_key":"k","error_message":"m"}]')).toEqual({
      errorKey: 'k',
      errorMessage: 'm',
    });
  });

  it('gives nothing for bodies that are not CC errors', () => {
    expect(parseErrorBody('<html>Bad gateway</html>')).toEqual({});
    expect(parseErrorBody('{not json')).toEqual({});
    expect(parseErrorBody(undefined)).toEqual({});
    expect(parseErrorBody([1, 'x'])).toEqual({});
  });
});

describe('classifyResponse', () => {
  it('tells the per-second throttle from the daily quota by error_key', () => {
    expect(classifyResponse(429, { error_key: 'throttled' }, {}, now).kind).toBe('throttled');
    expect(classifyResponse(429, { error_key: 'quota_exceeded' }, {}, now).kind).toBe('quota-exceeded');
    // An unreadable 429 is treated as the per-second throttle: retried, never a day's stop.
    expect(classifyResponse(429, '', {}, now).kind).toBe('throttled');
  });

  it('maps statuses to failure kinds', () => {
    expect(classifyResponse(401, {}, {}, now).kind).toBe('unauthorized');
    expect(classifyResponse(503, {}, {}, now).kind).toBe('unavailable');
    for (const status of [500, 502, 504])
      expect(classifyResponse(status, {}, {}, now).kind).toBe('server-error');
    for (const status of [400, 403, 404, 409, 415])
      expect(classifyResponse(status, {}, {}, now).kind).toBe('client-error');
  });

  it('keeps the status, the error text and Retry-After', () => {
    expect(
      classifyResponse(503, [{ error_key: 'k', error_message: 'm' }], { 'retry-after': '3' }, now),
    ).toEqual({
      kind: 'unavailable',
      status: 503,
      errorKey: 'k',
      errorMessage: 'm',
      retryAfterMs: 3000,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('classifyNetworkError', () => {
  const error = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

  it('separates failures before sending from those after', () => {
    expect(classifyNetworkError(error('ECONNREFUSED')).kind).toBe('connect-failed');
    expect(classifyNetworkError(error('ENOTFOUND')).kind).toBe('connect-failed');
    expect(classifyNetworkError(error('ECONNRESET', 'socket hang up')).kind).toBe('connection-lost');
    expect(classifyNetworkError(error('EPIPE')).kind).toBe('connection-lost');
    expect(classifyNetworkError(error('ETIMEDOUT')).kind).toBe('timeout');
    expect(classifyNetworkError(error('ECONNABORTED', 'timeout of 100ms exceeded')).kind).toBe('timeout');
  });

  it('keeps the code, never the message', () => {
    const failure = classifyNetworkError(error('ECONNRESET', 'https://user:secret@example.com failed'));
    expect(failure).toEqual({ kind: 'connection-lost', networkCode: 'ECONNRESET' });
  });
});
