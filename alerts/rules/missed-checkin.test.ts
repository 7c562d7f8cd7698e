import { describe, expect, it } from 'vitest';
import { missedCheckin } from './missed-checkin.js';

const hour = 3_600_000;
const lastActivityAt = Date.UTC(2026, 10, 27, 0, 0, 0);

describe('missedCheckin', () => {
  it.each([
    ['just after the last activity', 1],
    ['one hour in', hour],
    ['one millisecond before the deadline', 24 * hour - 1],
  ])('stays quiet %s', (_when, elapsed) => {
    const verdict = missedCheckin({ lastActivityAt, inactivityMs: 24 * hour }, lastActivityAt + elapsed);
    expect(verdict).toEqual({ fire: false, deadline: lastActivityAt + 24 * hour });
  });

  it.each([
    ['exactly at the deadline', 24 * hour],
    ['long after the deadline', 50 * hour],
  ])('fires %s', (_when, elapsed) => {
    const verdict = missedCheckin({ lastActivityAt, inactivityMs: 24 * hour }, lastActivityAt + elapsed);
    expect(verdict.fire).toBe(true);
    expect(verdict.deadline).toBe(lastActivityAt + 24 * hour);
  });

  it('puts the deadline at the last activity plus the resident\'s own window', () => {
    // Seoul's smart-plug service lets a household choose 24–50 h.
    expect(missedCheckin({ lastActivityAt, inactivityMs: 50 * hour }, lastActivityAt + 30 * hour)).toEqual({
      fire: false,
      deadline: lastActivityAt + 50 * hour,
    });
  });

  it('handles a window of a few seconds, as tests use', () => {
    const r = { lastActivityAt, inactivityMs: 0.001 * hour };
    expect(missedCheckin(r, lastActivityAt + 3_599).fire).toBe(false);
    expect(missedCheckin(r, lastActivityAt + 3_600).fire).toBe(true);
  });

  it.each([
    [25 * hour, 'no activity for 25.0 h'],
    [36.5 * hour, 'no activity for 36.5 h'],
    [4_000, 'no activity for 4 s'],
  ])('says how long the resident has been silent (%d ms)', (elapsed, reason) => {
    const verdict = missedCheckin({ lastActivityAt, inactivityMs: Math.min(elapsed, 24 * hour) }, lastActivityAt + elapsed);
    expect(verdict).toMatchObject({ fire: true, reason });
  });
});
