import { describe, expect, it } from 'vitest';
import { deviceSilence } from './device-silence.js';

const lastSeenAt = Date.UTC(2026, 10, 27);
const minute = 60_000;

describe('deviceSilence', () => {
  it('stays quiet until the offline window has passed and fires exactly at it', () => {
    const d = { lastSeenAt, silenceFrom: lastSeenAt, offlineAfterMs: 60 * minute };
    expect(deviceSilence('d-1', d, lastSeenAt + 60 * minute - 1)).toEqual({ fire: false, deadline: lastSeenAt + 60 * minute });
    expect(deviceSilence('d-1', d, lastSeenAt + 60 * minute)).toEqual({
      fire: true, deadline: lastSeenAt + 60 * minute, reason: 'device d-1 silent for 60 min (window 60 min)',
    });
  });

  it('counts the silence from a later start when the platform itself was not listening, but reports the real silence', () => {
    const d = { lastSeenAt, silenceFrom: lastSeenAt + 120 * minute, offlineAfterMs: 60 * minute };
    expect(deviceSilence('d-1', d, lastSeenAt + 179 * minute).fire).toBe(false);
    expect(deviceSilence('d-1', d, lastSeenAt + 180 * minute)).toMatchObject({ fire: true, reason: 'device d-1 silent for 180 min (window 60 min)' });
  });
});
