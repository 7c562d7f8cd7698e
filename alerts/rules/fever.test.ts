import { describe, expect, it } from 'vitest';
import { feverWithAbnormalVital } from './fever.js';
import type { LatestVitals } from './latest-vitals.js';
import { defaultVitalBands } from './vital-bands.js';

const t0 = Date.UTC(2026, 10, 27, 8);
const minute = 60_000;

describe('feverWithAbnormalVital (temperature ≥ 38.1 °C with another abnormal vital is critical)', () => {
  it.each([
    ['38.0 °C with SpO2 93', 38.0, { spo2: { value: 93, at: t0 } }, false],
    ['38.1 °C with SpO2 93', 38.1, { spo2: { value: 93, at: t0 } }, true],
    ['38.1 °C with SpO2 95 (normal)', 38.1, { spo2: { value: 95, at: t0 } }, false],
    ['39.0 °C alone', 39.0, {}, false],
    ['38.5 °C with a pulse of 115 an hour earlier', 38.5, { heart_rate: { value: 115, at: t0 - 60 * minute } }, true],
    ['38.5 °C with a pulse of 115 61 minutes earlier', 38.5, { heart_rate: { value: 115, at: t0 - 61 * minute } }, false],
  ] as [string, number, LatestVitals, boolean][])('%s → %s', (_what, celsius, others, fire) => {
    expect(feverWithAbnormalVital({ ...others, temperature: { value: celsius, at: t0 } }, defaultVitalBands).fire).toBe(fire);
  });

  it('names the other abnormal vitals', () => {
    const verdict = feverWithAbnormalVital(
      { temperature: { value: 38.6, at: t0 }, respiratory_rate: { value: 26, at: t0 }, spo2: { value: 94, at: t0 }, systolic: { value: 130, at: t0 } },
      defaultVitalBands,
    );
    expect(verdict).toEqual({ fire: true, value: 38.6, at: t0, with: ['respiratory_rate', 'spo2'], reason: 'temperature 38.6 ≥ 38.1 with abnormal respiratory_rate, spo2' });
  });

  it("judges the other vitals against the resident's own bands", () => {
    const copd = { ...defaultVitalBands, spo2: { lowCritical: 85, lowWarning: 87 } };
    expect(feverWithAbnormalVital({ temperature: { value: 38.5, at: t0 }, spo2: { value: 90, at: t0 } }, copd).fire).toBe(false);
  });
});
