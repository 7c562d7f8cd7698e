import { describe, expect, it } from 'vitest';
import { distanceInside, recovery, recoveryByStreak } from './recovery.js';
import { defaultVitalBands, RECOVERY_STREAK, recoveryMargins } from './vital-bands.js';

describe('hysteresis before recoveredAt', () => {
  it('measures how far a value lies inside its band, from the nearest threshold', () => {
    expect(distanceInside(97, defaultVitalBands.spo2)).toBe(3);
    expect(distanceInside(60, defaultVitalBands.heart_rate)).toBe(10);
    expect(distanceInside(105, defaultVitalBands.heart_rate)).toBe(6);
    expect(distanceInside(50, defaultVitalBands.diastolic)).toBe(50);
    expect(distanceInside(1, {})).toBe(Infinity);
  });

  it.each([
    ['SpO2 96, 2 inside ≤ 94', 'spo2', 96, true],
    ['SpO2 95, 1 inside', 'spo2', 95, false],
    ['temperature 37.5, 0.3 inside ≥ 37.8', 'temperature', 37.5, true],
    ['temperature 37.6', 'temperature', 37.6, false],
    ['glucose 80, 11 inside ≤ 69', 'glucose', 80, true],
    ['glucose 75', 'glucose', 75, false],
  ] as const)('recovers at once on a first normal reading only with the margin: %s → %s', (_what, vital, value, recovered) => {
    expect(recovery(value, defaultVitalBands[vital], recoveryMargins[vital], 0).recovered).toBe(recovered);
  });

  it(`recovers on the ${RECOVERY_STREAK}nd normal reading in a row even close to the threshold`, () => {
    const first = recovery(95, defaultVitalBands.spo2, recoveryMargins.spo2, 0);
    expect(first).toMatchObject({ recovered: false, streak: 1 });
    const second = recovery(95, defaultVitalBands.spo2, recoveryMargins.spo2, first.recovered ? 0 : first.streak);
    expect(second.recovered).toBe(true);
  });

  it('recovers rules without a margin on the second normal evaluation', () => {
    expect(recoveryByStreak(0)).toMatchObject({ recovered: false, streak: 1 });
    expect(recoveryByStreak(1).recovered).toBe(true);
  });
});
