import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from './login-throttle.js';

const limits = { perUserAndAddress: 3, perAddress: 5, windowMs: 60_000 };

describe('login throttle', () => {
  it('locks a username at an address after the limit of failures, until the window ends', () => {
    const t = createLoginThrottle(limits);
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterMs('10.0.0.1', 'kim', 1000)).toBe(0);
      t.attempt('10.0.0.1', 'kim', 1000);
    }
    expect(t.retryAfterMs('10.0.0.1', 'kim', 2000)).toBe(59_000);
    expect(t.retryAfterMs('10.0.0.1', 'KIM', 2000)).toBe(59_000); // usernames compare without case
    expect(t.retryAfterMs('10.0.0.2', 'kim', 2000)).toBe(0); // another address is not locked
    expect(t.retryAfterMs('10.0.0.1', 'lee', 2000)).toBe(0);
    expect(t.retryAfterMs('10.0.0.1', 'kim', 61_000)).toBe(0);
  });

  it('takes back the attempt of a good login, so only failures count', () => {
    const t = createLoginThrottle(limits);
    for (let i = 0; i < 10; i++) {
      t.attempt('10.0.0.1', 'kim', 1000);
      t.succeeded('10.0.0.1', 'kim', 1000);
    }
    expect(t.retryAfterMs('10.0.0.1', 'kim', 1000)).toBe(0);
    expect(t.retryAfterMs('10.0.0.1', 'park', 1000)).toBe(0);
  });

  it('locks an address that sprays many usernames', () => {
    const t = createLoginThrottle(limits);
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) t.attempt('10.0.0.9', name, 0);
    expect(t.retryAfterMs('10.0.0.9', 'a6', 10)).toBe(59_990);
    expect(t.retryAfterMs('10.0.0.8', 'a6', 10)).toBe(0);
  });
});
