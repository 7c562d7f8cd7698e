import { describe, expect, it } from 'vitest';
import type { News2Parameter } from '../../core/schemas/alert.js';
import type { LatestVitals } from './latest-vitals.js';
import fc from 'fast-check';
import { news2, news2Parameters, news2Ready, NEWS2_WINDOW_MS, scoreParameter } from './news2.js';

const t0 = Date.UTC(2026, 10, 27, 8);
const minute = 60_000;

describe('scoreParameter (RCP NEWS2 Chart 1)', () => {
  // Every band edge of the chart, from both sides (clinical-research §1's list).
  it.each([
    ['respiratory_rate', 8, 3], ['respiratory_rate', 9, 1], ['respiratory_rate', 11, 1], ['respiratory_rate', 12, 0],
    ['respiratory_rate', 20, 0], ['respiratory_rate', 21, 2], ['respiratory_rate', 24, 2], ['respiratory_rate', 25, 3],
    ['spo2', 91, 3], ['spo2', 92, 2], ['spo2', 93, 2], ['spo2', 94, 1], ['spo2', 95, 1], ['spo2', 96, 0], ['spo2', 100, 0],
    ['systolic', 90, 3], ['systolic', 91, 2], ['systolic', 100, 2], ['systolic', 101, 1], ['systolic', 110, 1],
    ['systolic', 111, 0], ['systolic', 219, 0], ['systolic', 220, 3],
    ['heart_rate', 40, 3], ['heart_rate', 41, 1], ['heart_rate', 50, 1], ['heart_rate', 51, 0], ['heart_rate', 90, 0],
    ['heart_rate', 91, 1], ['heart_rate', 110, 1], ['heart_rate', 111, 2], ['heart_rate', 130, 2], ['heart_rate', 131, 3],
    ['temperature', 35.0, 3], ['temperature', 35.1, 1], ['temperature', 36.0, 1], ['temperature', 36.1, 0],
    ['temperature', 38.0, 0], ['temperature', 38.1, 1], ['temperature', 39.0, 1], ['temperature', 39.1, 2],
  ] as [News2Parameter, number, number][])('scores %s %s as %i', (parameter, value, score) => {
    expect(scoreParameter(parameter, value)).toBe(score);
  });

  it.each([
    [83, 3], [84, 2], [85, 2], [86, 1], [87, 1], [88, 0], [92, 0], [97, 0],
  ])('scores SpO2 %i on scale 2 (hypercapnic target, on air) as %i', (value, score) => {
    expect(scoreParameter('spo2', value, true)).toBe(score);
  });
});

function latest(values: Partial<Record<News2Parameter, number>>, at = t0): LatestVitals {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, at }]));
}

describe('news2', () => {
  it('is not computed from fewer than 4 measured parameters', () => {
    const verdict = news2(latest({ spo2: 85, heart_rate: 140, systolic: 85 }));
    expect(verdict).toMatchObject({ computed: false, missing: ['respiratory_rate', 'temperature'] });
  });

  it('counts only measurements within the window of the newest one', () => {
    const vitals = latest({ spo2: 91, heart_rate: 120, systolic: 95 });
    vitals.temperature = { value: 39.5, at: t0 - NEWS2_WINDOW_MS - 1 };
    expect(news2(vitals).computed).toBe(false);
    vitals.temperature = { value: 39.5, at: t0 - NEWS2_WINDOW_MS };
    expect(news2(vitals)).toMatchObject({ computed: true, score: 3 + 2 + 2 + 2 });
  });

  it.each([
    [{ respiratory_rate: 16, spo2: 97, systolic: 125, heart_rate: 72, temperature: 36.8 }, 0, null],
    [{ respiratory_rate: 22, spo2: 94, systolic: 105, heart_rate: 72 }, 2 + 1 + 1, null],
    [{ respiratory_rate: 22, spo2: 94, systolic: 100, heart_rate: 72 }, 2 + 1 + 2, 'warning'],
    [{ respiratory_rate: 22, spo2: 93, systolic: 100, heart_rate: 72 }, 2 + 2 + 2, 'warning'],
    [{ respiratory_rate: 22, spo2: 93, systolic: 100, heart_rate: 95 }, 2 + 2 + 2 + 1, 'critical'],
  ] as [Partial<Record<News2Parameter, number>>, number, string | null][])(
    'scores %j as %i → %s (Chart 4: 5–6 warning, ≥ 7 critical)',
    (values, score, severity) => {
      expect(news2(latest(values))).toMatchObject({ computed: true, score, severity });
    },
  );

  it('labels itself partial: names each parameter with its score and what is missing', () => {
    const verdict = news2(latest({ respiratory_rate: 22, spo2: 93, systolic: 100, heart_rate: 95 }, t0 + 5 * minute));
    expect(verdict.computed && verdict.parameters).toEqual({
      respiratory_rate: { value: 22, score: 2 }, spo2: { value: 93, score: 2 }, systolic: { value: 100, score: 2 }, heart_rate: { value: 95, score: 1 },
    });
    expect(verdict.computed && verdict.missing).toEqual(['temperature']);
    expect(verdict.computed && verdict.reason).toMatch(/^partial NEWS2 7 .*missing temperature/);
  });

  it('ignores vitals that are not NEWS2 parameters', () => {
    const vitals: LatestVitals = { ...latest({ spo2: 97, heart_rate: 72, systolic: 125 }), glucose: { value: 40, at: t0 }, diastolic: { value: 130, at: t0 } };
    expect(news2(vitals).computed).toBe(false);
  });
});

describe('news2Ready', () => {
  it('answers exactly when news2 computes a score, for any mix of measurements and times', () => {
    const measurement = fc.option(fc.record({ value: fc.integer({ min: 30, max: 250 }), at: fc.integer({ min: t0 - 3 * NEWS2_WINDOW_MS, max: t0 }) }), { nil: undefined });
    const latest = fc.tuple(...news2Parameters.map(() => measurement)).map((values) => {
      const vitals: LatestVitals = {};
      news2Parameters.forEach((p, i) => {
        if (values[i]) vitals[p] = values[i];
      });
      return vitals;
    });
    fc.assert(fc.property(latest, (vitals) => news2Ready(vitals) === news2(vitals).computed), { numRuns: 5000 });
  });
});
