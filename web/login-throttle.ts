/**
 * Login throttling that counts failures only: a staff member who types the
 * password right is never locked out by their own earlier logins, and a guesser
 * gets `limit` wrong tries per window for one username from one address. A
 * looser per-address limit stops one address from spraying many usernames.
 */
export interface ThrottleLimits {
  perUserAndAddress: number;
  perAddress: number;
  windowMs: number;
}

export const defaultLoginLimits: ThrottleLimits = { perUserAndAddress: 10, perAddress: 50, windowMs: 15 * 60_000 };

interface Window {
  failures: number;
  startedAt: number;
}

export interface LoginThrottle {
  /** 0 when a login may be tried now, otherwise the milliseconds until it may. */
  retryAfterMs(address: string, username: string, now: number): number;
  /**
   * Counts a try as a failure before the password is checked, so parallel guesses
   * cannot all slip in while scrypt runs; `succeeded` takes it back.
   */
  attempt(address: string, username: string, now: number): void;
  succeeded(address: string, username: string, now: number): void;
}

// Bounds memory under a flood of distinct keys; the oldest windows go first.
const MAX_KEYS = 50_000;

export function createLoginThrottle(limits: ThrottleLimits = defaultLoginLimits): LoginThrottle {
  const windows = new Map<string, Window>();
  const userKey = (address: string, username: string) => `u|${address}|${username.toLowerCase()}`;
  const addressKey = (address: string) => `a|${address}`;

  const current = (key: string, now: number): Window | undefined => {
    const w = windows.get(key);
    if (w && now - w.startedAt >= limits.windowMs) {
      windows.delete(key);
      return undefined;
    }
    return w;
  };
  const wait = (key: string, limit: number, now: number): number => {
    const w = current(key, now);
    return w && w.failures >= limit ? w.startedAt + limits.windowMs - now : 0;
  };
  const count = (key: string, now: number) => {
    const w = current(key, now);
    if (w) w.failures++;
    else {
      if (windows.size >= MAX_KEYS) windows.delete(windows.keys().next().value!);
      windows.set(key, { failures: 1, startedAt: now });
    }
  };

  return {
    retryAfterMs: (address, username, now) =>
      Math.max(wait(userKey(address, username), limits.perUserAndAddress, now), wait(addressKey(address), limits.perAddress, now)),
    attempt(address, username, now) {
      count(userKey(address, username), now);
      count(addressKey(address), now);
    },
    succeeded(address, username, now) {
      windows.delete(userKey(address, username));
      const w = current(addressKey(address), now);
      if (w) w.failures = Math.max(0, w.failures - 1);
    },
  };
}
