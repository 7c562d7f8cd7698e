import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './stats.js';

describe('the latency histogram', () => {
  it('gives percentiles within 1 % of the exact ones', () => {
    const h = new LatencyHistogram();
    const samples = Array.from({ length: 10_000 }, (_, i) => 0.5 + (i % 1000) * 0.37 + Math.floor(i / 1000) * 0.011);
    for (const s of samples) h.record(s);
    samples.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = samples[Math.ceil(q * samples.length) - 1]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    expect(h.quantile(1)).toBe(samples.at(-1));
    expect(h.count).toBe(10_000);
  });

  it('answers zero when empty and never exceeds the largest sample', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.99)).toBe(0);
    h.record(3);
    expect(h.quantile(0.5)).toBe(3);
  });
});
