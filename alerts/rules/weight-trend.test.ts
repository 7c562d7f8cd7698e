import { describe, expect, it } from 'vitest';
import { rememberWeighing, WEIGHT_HISTORY_MAX, weightTrend, type Weighing } from './weight-trend.js';

const day = 24 * 3_600_000;
const t0 = Date.UTC(2026, 10, 20, 7);

describe('weightTrend (ESC: +2 kg within 3 days)', () => {
  const history: Weighing[] = [{ at: t0, kg: 60.0 }, { at: t0 + day, kg: 60.4 }];

  it.each([
    ['+1.9 kg', 61.9, false],
    ['+2.0 kg', 62.0, true],
    ['+3.5 kg', 63.5, true],
    ['a loss', 58.0, false],
  ])('%s over the lowest weight of the last 3 days fires: %s', (_what, kg, fire) => {
    expect(weightTrend(history, { at: t0 + 2 * day, kg }).fire).toBe(fire);
  });

  it('measures from the lowest weight of the window, not the latest', () => {
    const verdict = weightTrend([{ at: t0, kg: 60 }, { at: t0 + day, kg: 61.5 }], { at: t0 + 2 * day, kg: 62.1 });
    expect(verdict).toMatchObject({ fire: true, gainKg: 2.1, fromKg: 60, fromAt: t0, toKg: 62.1 });
    expect(verdict.fire && verdict.reason).toBe('weight +2.1 kg in 48 h (60 → 62.1 kg)');
  });

  it('does not compare with a weighing more than 3 days old', () => {
    expect(weightTrend([{ at: t0, kg: 60 }], { at: t0 + 3 * day + 1, kg: 65 })).toEqual({ fire: false, gainKg: null });
    expect(weightTrend([{ at: t0, kg: 60 }], { at: t0 + 3 * day, kg: 65 }).fire).toBe(true);
  });

  it('has nothing to say about the first weighing', () => {
    expect(weightTrend([], { at: t0, kg: 80 })).toEqual({ fire: false, gainKg: null });
  });

  it('does not trip on floating-point noise just under 2 kg', () => {
    expect(weightTrend([{ at: t0, kg: 60.1 }], { at: t0 + day, kg: 62.1 }).fire).toBe(true); // 62.1 − 60.1 = 1.9999…
  });
});

describe('rememberWeighing', () => {
  it('keeps only what the window can still use, oldest first', () => {
    const kept = rememberWeighing([{ at: t0, kg: 60 }, { at: t0 + 2 * day, kg: 61 }], { at: t0 + 3.5 * day, kg: 62 });
    expect(kept.map((w) => w.kg)).toEqual([61, 62]);
  });

  it('is bounded', () => {
    let history: Weighing[] = [];
    for (let i = 0; i < 200; i++) history = rememberWeighing(history, { at: t0 + i * 60_000, kg: 60 });
    expect(history).toHaveLength(WEIGHT_HISTORY_MAX);
  });
});
