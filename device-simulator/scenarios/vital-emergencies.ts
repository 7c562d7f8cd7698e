import type { DeviceKind } from '../../core/schemas/registry.js';
import { between, streamOf, type Random } from '../random.js';
import { HOME_KIT } from './daily-life.js';
import { inWindow, lifeEvents, momentOf, readingEvent } from './plan.js';
import type { ExpectedAlert, Reading, Scenario } from './types.js';

// A worried resident measures again a little later.
const REMEASURE_MS = 2000;

/** An ordinary day in which one device measures an abnormal vital (and its re-measurement). */
function vitalEmergency(name: string, summary: string, device: DeviceKind, alerts: ExpectedAlert[], readings: (r: Random) => Reading[]): Scenario {
  return {
    name,
    summary,
    devices: HOME_KIT,
    expect: { alerts },
    plan(ctx, window) {
      const events = lifeEvents(ctx, window, HOME_KIT);
      const at = momentOf(ctx, name);
      readings(streamOf(ctx.seed, name, 'readings')).forEach((reading, i) => {
        const atMs = at + i * REMEASURE_MS;
        if (inWindow(ctx, window, atMs)) events.push(readingEvent(ctx, device, atMs, reading));
      });
      return events;
    },
  };
}

// Values per the default bands (alerts/rules/vital-bands.ts, DESIGN §5); the pulse
// that comes with them stays below 111 bpm so only the named vital alerts.
export const vitalEmergencies: Scenario[] = [
  vitalEmergency(
    'hypertensive_crisis', 'blood pressure ≥ 180 systolic with diastolic over 100, measured twice',
    'bp_monitor',
    [{ kind: 'abnormal_vital', rule: 'systolic', severity: 'critical' }, { kind: 'abnormal_vital', rule: 'diastolic', severity: 'warning' }],
    (r) => [
      { type: 'blood_pressure', systolic: between(r, 184, 205), diastolic: between(r, 104, 117), pulse: between(r, 82, 98) },
      { type: 'blood_pressure', systolic: between(r, 181, 198), diastolic: between(r, 102, 115), pulse: between(r, 80, 96) },
    ],
  ),
  vitalEmergency(
    'hypoglycaemia', 'glucose below 54 mg/dL (ADA level 2)',
    'glucometer',
    [{ kind: 'abnormal_vital', rule: 'glucose', severity: 'critical' }],
    (r) => [{ type: 'glucose', mg_dl: between(r, 38, 50), context: 'random' }],
  ),
  vitalEmergency(
    'fever', 'temperature 38–39 °C, measured twice',
    'thermometer',
    [{ kind: 'abnormal_vital', rule: 'temperature', severity: 'warning' }],
    (r) => [{ type: 'temperature', celsius: between(r, 38.2, 38.9, 1) }, { type: 'temperature', celsius: between(r, 38.0, 38.6, 1) }],
  ),
  vitalEmergency(
    'hypoxia', 'SpO2 85–90 %, measured twice',
    'pulse_oximeter',
    [{ kind: 'abnormal_vital', rule: 'spo2', severity: 'critical' }],
    (r) => [
      { type: 'spo2', spo2: between(r, 85, 89), pulse: between(r, 96, 108) },
      { type: 'spo2', spo2: between(r, 86, 90), pulse: between(r, 94, 106) },
    ],
  ),
];
