import { describe, expect, it } from 'vitest';
import type { Severity } from '../../core/schemas/alert.js';
import type { Observation } from '../../core/schemas/observation.js';
import { vitalNames, type VitalBand, type VitalName } from '../../core/schemas/registry.js';
import { bandsFor, defaultVitalBands } from './vital-bands.js';
import { classifyVital, evaluateVitals, type VitalVerdict } from './vitals.js';

type Outcome = Severity | 'normal';

const severityOf = (verdict: VitalVerdict): Outcome => (verdict.abnormal ? verdict.severity : 'normal');
const classify = (vital: VitalName, value: number, band: VitalBand = defaultVitalBands[vital]): Outcome =>
  severityOf(classifyVital(vital, value, band));

// Temperatures are read to a tenth of a degree; everything else in whole units.
const stepOf = (vital: VitalName) => (vital === 'temperature' ? 0.1 : 1);
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Every edge of every default band, generated from the table: the threshold
 * itself (inclusive, so abnormal) and one step towards normal (the next milder
 * outcome: warning if that side has a warning band, normal otherwise).
 */
function edgeCases(): [VitalName, keyof VitalBand, number, Outcome][] {
  const cases: [VitalName, keyof VitalBand, number, Outcome][] = [];
  for (const vital of vitalNames) {
    const band = defaultVitalBands[vital];
    const step = stepOf(vital);
    const { lowCritical, lowWarning, highWarning, highCritical } = band;
    if (lowCritical !== undefined) {
      cases.push([vital, 'lowCritical', lowCritical, 'critical']);
      cases.push([vital, 'lowCritical', round(lowCritical + step), lowWarning !== undefined ? 'warning' : 'normal']);
    }
    if (lowWarning !== undefined) {
      cases.push([vital, 'lowWarning', lowWarning, 'warning']);
      cases.push([vital, 'lowWarning', round(lowWarning + step), 'normal']);
    }
    if (highWarning !== undefined) {
      cases.push([vital, 'highWarning', highWarning, 'warning']);
      cases.push([vital, 'highWarning', round(highWarning - step), 'normal']);
    }
    if (highCritical !== undefined) {
      cases.push([vital, 'highCritical', highCritical, 'critical']);
      cases.push([vital, 'highCritical', round(highCritical - step), highWarning !== undefined ? 'warning' : 'normal']);
    }
  }
  return cases;
}

function observation(type: Observation['type'], fields: Observation['fields']): Observation {
  const ts = Date.UTC(2026, 10, 27);
  return { residentId: 'r-1', deviceId: 'd-1', dong: '1111051500', type, ts, receivedAt: ts, fields };
}

describe('defaultVitalBands', () => {
  it('has a band for every vital', () => {
    expect(Object.keys(defaultVitalBands).sort()).toEqual([...vitalNames].sort());
  });

  it.each(vitalNames)('orders the %s thresholds low critical < low warning < high warning < high critical', (vital) => {
    const { lowCritical, lowWarning, highWarning, highCritical } = defaultVitalBands[vital];
    const defined = [lowCritical, lowWarning, highWarning, highCritical].filter((t): t is number => t !== undefined);
    expect(defined.length).toBeGreaterThan(0);
    expect(defined).toEqual([...defined].sort((a, b) => a - b));
    expect(new Set(defined).size).toBe(defined.length);
  });
});

describe('classifyVital', () => {
  const edges = edgeCases();

  it('covers every threshold of the default table, from both sides', () => {
    const thresholds = vitalNames.flatMap((v) => Object.values(defaultVitalBands[v]).filter((t) => t !== undefined));
    expect(edges).toHaveLength(thresholds.length * 2);
  });

  it.each(edges)('classifies %s at its %s edge, value %s, as %s', (vital, _edge, value, expected) => {
    expect(classify(vital, value)).toBe(expected);
  });

  // Anchors written by hand from the clinical sources (docs/clinical-defaults.md), not from the table.
  it.each([
    ['spo2', 85, 'critical'],
    ['spo2', 92, 'critical'],
    ['spo2', 93, 'warning'],
    ['spo2', 94, 'warning'],
    ['spo2', 95, 'normal'],
    ['spo2', 100, 'normal'],
    ['systolic', 180, 'critical'],
    ['systolic', 179, 'warning'],
    ['systolic', 160, 'warning'],
    ['systolic', 128, 'normal'],
    ['systolic', 100, 'warning'],
    ['systolic', 90, 'critical'],
    ['diastolic', 120, 'critical'],
    ['diastolic', 100, 'warning'],
    ['diastolic', 82, 'normal'],
    ['diastolic', 50, 'normal'],
    ['glucose', 70, 'normal'],
    ['glucose', 69, 'warning'],
    ['glucose', 54, 'warning'],
    ['glucose', 53, 'critical'],
    ['glucose', 250, 'normal'],
    ['glucose', 251, 'warning'],
    ['glucose', 300, 'critical'],
    ['heart_rate', 40, 'critical'],
    ['heart_rate', 41, 'warning'],
    ['heart_rate', 72, 'normal'],
    ['heart_rate', 111, 'warning'],
    ['heart_rate', 131, 'critical'],
    ['respiratory_rate', 8, 'critical'],
    ['respiratory_rate', 9, 'warning'],
    ['respiratory_rate', 16, 'normal'],
    ['respiratory_rate', 21, 'warning'],
    ['respiratory_rate', 25, 'critical'],
    ['temperature', 35.0, 'critical'],
    ['temperature', 35.1, 'warning'],
    ['temperature', 36.6, 'normal'],
    ['temperature', 37.8, 'warning'],
    ['temperature', 39.5, 'warning'],
  ] as [VitalName, number, Outcome][])('classifies %s %s as %s', (vital, value, expected) => {
    expect(classify(vital, value)).toBe(expected);
  });

  it('says why a value is abnormal, naming the vital, the value and the threshold', () => {
    const verdict = classifyVital('spo2', 88, defaultVitalBands.spo2);
    expect(verdict).toMatchObject({ vital: 'spo2', value: 88, abnormal: true, severity: 'critical' });
    expect(verdict.abnormal && verdict.reason).toMatch(/spo2 88 .*92/);
  });

  it.each([
    ['spo2', 93, 94, 'low'],
    ['systolic', 185, 180, 'high'],
    ['glucose', 40, 53, 'low'],
    ['temperature', 38.0, 37.8, 'high'],
  ] as [VitalName, number, number, 'low' | 'high'][])('tells which threshold %s %s crossed, and on which side', (vital, value, threshold, direction) => {
    expect(classifyVital(vital, value, defaultVitalBands[vital])).toMatchObject({ abnormal: true, threshold, direction });
  });

  it('says when a glucose is in the hyperosmolar (HHS) range', () => {
    const verdict = classifyVital('glucose', 650, defaultVitalBands.glucose);
    expect(verdict).toMatchObject({ severity: 'critical', threshold: 300 });
    expect(verdict.abnormal && verdict.reason).toBe('glucose 650 ≥ 300 (HHS range)');
    const below = classifyVital('glucose', 599, defaultVitalBands.glucose);
    expect(below.abnormal && below.reason).toBe('glucose 599 ≥ 300');
  });

  it('checks critical before warning when a custom band makes them overlap', () => {
    expect(classify('spo2', 90, { lowWarning: 94, lowCritical: 95 })).toBe('critical');
  });

  it('finds nothing abnormal against an empty band', () => {
    expect(classify('heart_rate', 300, {})).toBe('normal');
  });
});

describe('bandsFor', () => {
  it('gives the defaults to a resident without overrides', () => {
    expect(bandsFor(undefined)).toEqual(defaultVitalBands);
  });

  it('lets a nurse lower the SpO2 target of a resident with COPD and keeps every other vital at its default', () => {
    // BTS/NEWS2 scale 2: 88–92 % is the target range for hypercapnic respiratory failure.
    const bands = bandsFor({ spo2: { lowCritical: 85, lowWarning: 87 } });
    expect(classify('spo2', 88, bands.spo2)).toBe('normal');
    expect(classify('spo2', 87, bands.spo2)).toBe('warning');
    expect(classify('spo2', 85, bands.spo2)).toBe('critical');
    expect(classify('spo2', 88)).toBe('critical'); // the same value is critical for everyone else
    for (const vital of vitalNames.filter((v) => v !== 'spo2')) expect(bands[vital]).toEqual(defaultVitalBands[vital]);
  });

  it('overrides single thresholds and keeps the rest of that vital from the defaults', () => {
    const bands = bandsFor({ systolic: { highWarning: 150 } });
    expect(bands.systolic).toEqual({ ...defaultVitalBands.systolic, highWarning: 150 });
    expect(classify('systolic', 155, bands.systolic)).toBe('warning');
    expect(classify('systolic', 180, bands.systolic)).toBe('critical');
    expect(classify('systolic', 90, bands.systolic)).toBe('critical');
  });

  it('adds a threshold the defaults do not have', () => {
    const bands = bandsFor({ diastolic: { lowWarning: 55 } });
    expect(classify('diastolic', 50, bands.diastolic)).toBe('warning');
  });

  it('never changes the defaults another resident sees', () => {
    const before = structuredClone(defaultVitalBands);
    bandsFor({ spo2: { lowCritical: 80 }, glucose: { highWarning: 200 } });
    expect(defaultVitalBands).toEqual(before);
  });
});

describe('evaluateVitals', () => {
  it('judges systolic, diastolic and pulse of a blood pressure reading', () => {
    const verdicts = evaluateVitals(observation('blood_pressure', { systolic: 185, diastolic: 105, pulse: 72 }), defaultVitalBands);
    expect(verdicts.map((v) => [v.vital, severityOf(v)])).toEqual([
      ['systolic', 'critical'],
      ['diastolic', 'warning'],
      ['heart_rate', 'normal'],
    ]);
  });

  it('judges the pulse an oximeter reports as a heart rate', () => {
    const verdicts = evaluateVitals(observation('spo2', { spo2: 96, pulse: 135 }), defaultVitalBands);
    expect(verdicts.map((v) => [v.vital, severityOf(v)])).toEqual([
      ['spo2', 'normal'],
      ['heart_rate', 'critical'],
    ]);
  });

  it('skips optional fields a reading does not carry', () => {
    expect(evaluateVitals(observation('spo2', { spo2: 85 }), defaultVitalBands).map((v) => v.vital)).toEqual(['spo2']);
  });

  it.each([
    ['heart_rate', { bpm: 38 }, 'heart_rate', 'critical'],
    ['respiratory_rate', { per_min: 22 }, 'respiratory_rate', 'warning'],
    ['temperature', { celsius: 34.8 }, 'temperature', 'critical'],
    ['glucose', { mg_dl: 65, context: 'fasting' }, 'glucose', 'warning'],
  ] as [Observation['type'], Observation['fields'], VitalName, Outcome][])(
    'reads a %s reading as one verdict',
    (type, fields, vital, expected) => {
      const verdicts = evaluateVitals(observation(type, fields), defaultVitalBands);
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]?.vital).toBe(vital);
      expect(severityOf(verdicts[0]!)).toBe(expected);
    },
  );

  it.each([
    ['weight', { kg: 58 }],
    ['steps', { count: 10 }],
    ['motion', { detected: true }],
    ['door', { open: true }],
    ['sos', {}],
    ['power', { watts: 2000 }],
  ] as [Observation['type'], Observation['fields']][])('finds no vitals in a %s reading', (type, fields) => {
    expect(evaluateVitals(observation(type, fields), defaultVitalBands)).toEqual([]);
  });

  it("uses the resident's bands, not the defaults", () => {
    const bands = bandsFor({ spo2: { lowCritical: 85, lowWarning: 87 } });
    const [verdict] = evaluateVitals(observation('spo2', { spo2: 90 }), bands);
    expect(verdict?.abnormal).toBe(false);
  });
});
