import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { defaultOfflineMinutes, ResidentInputSchema, vitalNames, type VitalBand } from '../core/schemas/registry.js';
import { defaultEscalation } from './engine.js';
import { ILLUMINANCE_NOISE_LUX, POWER_NOISE_WATTS } from './rules/activity.js';
import { NEWS2_CRITICAL, NEWS2_MIN_PARAMETERS, NEWS2_WARNING, NEWS2_WINDOW_MS } from './rules/news2.js';
import {
  defaultVitalBands,
  FEVER_COMBINATION_WINDOW_MS,
  FEVER_CRITICAL_WITH_OTHER_C,
  GLUCOSE_HHS_MG_DL,
  RECOVERY_STREAK,
  recoveryMargins,
} from './rules/vital-bands.js';
import { WEIGHT_GAIN_KG, WEIGHT_WINDOW_MS } from './rules/weight-trend.js';

const doc = readFileSync(new URL('../docs/clinical-defaults.md', import.meta.url), 'utf8');

/** Table rows whose first cell is `code`, split into trimmed cells without backticks. */
const rows = doc
  .split('\n')
  .filter((line) => /^\|\s*`[^`]+`\s*\|/.test(line))
  .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim().replaceAll('`', '')));

const bandRows = rows.filter((cells) => (vitalNames as readonly string[]).includes(cells[0]!) && cells.length === 5 && /^[a-zA-Z]+$/.test(cells[1]!));
const namedRows = new Map(rows.filter((cells) => !bandRows.includes(cells)).map((cells) => [cells[0]!, cells]));

// The code's defaults under the names the doc uses (in the doc's units).
const named: Record<string, number> = {
  FEVER_CRITICAL_WITH_OTHER_C,
  FEVER_COMBINATION_WINDOW_MIN: FEVER_COMBINATION_WINDOW_MS / 60_000,
  GLUCOSE_HHS_MG_DL,
  NEWS2_WARNING,
  NEWS2_CRITICAL,
  NEWS2_WINDOW_MIN: NEWS2_WINDOW_MS / 60_000,
  NEWS2_MIN_PARAMETERS,
  WEIGHT_GAIN_KG,
  WEIGHT_WINDOW_H: WEIGHT_WINDOW_MS / 3_600_000,
  RECOVERY_STREAK,
  ...Object.fromEntries(Object.entries(recoveryMargins).map(([vital, margin]) => [`recoveryMargins.${vital}`, margin])),
  ALERT_CONFIRM_WARNINGS_MIN: loadConfig({}).alerts.confirmWarningsMs / 60_000,
  INACTIVITY_HOURS: ResidentInputSchema.parse({ displayName: 'x', dong: 'd' }).inactivityHours,
  POWER_NOISE_WATTS,
  ILLUMINANCE_NOISE_LUX,
  ALERT_ESCALATE_CRITICAL_MIN: defaultEscalation.criticalMs / 60_000,
  ALERT_ESCALATE_WARNING_MIN: defaultEscalation.warningMs / 60_000,
  ...Object.fromEntries(Object.entries(defaultOfflineMinutes).map(([kind, minutes]) => [`offlineAfterMinutes.${kind}`, minutes])),
};

const thresholds = vitalNames.flatMap((vital) =>
  (Object.entries(defaultVitalBands[vital]) as [keyof VitalBand, number][]).map(([edge, value]) => [vital, edge, value] as const),
);

describe('docs/clinical-defaults.md', () => {
  it('describes the escalation timeouts the platform is configured with by default', () => {
    expect(loadConfig({}).alerts.escalation).toEqual(defaultEscalation);
  });

  it.each(thresholds)('documents %s %s = %s with a source', (vital, edge, value) => {
    const row = bandRows.find(([v, e]) => v === vital && e === edge);
    expect(row, `no row for ${vital} ${edge}`).toBeDefined();
    expect(Number(row![2])).toBe(value);
    expect(row![4]).not.toBe('');
  });

  it('documents no vital threshold the defaults do not have', () => {
    const known = new Set(thresholds.map(([vital, edge]) => `${vital}.${edge}`));
    expect(bandRows.map(([vital, edge]) => `${vital}.${edge}`).filter((k) => !known.has(k))).toEqual([]);
  });

  it.each(Object.entries(named))('documents %s = %s with a source', (name, value) => {
    const row = namedRows.get(name);
    expect(row, `no row for ${name}`).toBeDefined();
    expect(Number(row![1])).toBe(value);
    expect(row![4]).not.toBe('');
  });

  it('documents no named default the code does not have', () => {
    expect([...namedRows.keys()].filter((name) => !(name in named))).toEqual([]);
  });

  it('cites a listed source, or says it is a product choice, on every row', () => {
    const sources = doc.split('\n').filter((l) => /^\| [A-Z][A-Z0-9/-]* \|/.test(l)).map((l) => l.split('|')[1]!.trim());
    expect(sources.length).toBeGreaterThan(10);
    const cites = (text: string) => text.includes('product choice') || sources.some((key) => new RegExp(`(^|[^A-Z/-])${key.replace('/', '\\/')}($|[^A-Z/-])`).test(text));
    for (const cells of [...bandRows, ...namedRows.values()]) expect(cites(cells[4]!), `row ${cells[0]}: ${cells[4]}`).toBe(true);
  });
});
