import type { AlertKind, Severity } from '../core/schemas/alert.js';
import type { DeviceKind } from '../core/schemas/registry.js';
import { between } from './random.js';

export type Reading = Record<string, unknown> & { type: string };

/** One message a home will send, `atMs` after the simulation starts. */
export interface PlannedReading {
  atMs: number;
  device: DeviceKind;
  reading: Reading;
}

/**
 * A scenario says which devices a home needs, what it sends, and which alert
 * it should cause (null: none), so a test can check the platform raised exactly that.
 */
export interface Scenario {
  name: string;
  devices: DeviceKind[];
  inactivityHours?: number;
  expect: { kind: AlertKind; rule: string; severity: Severity } | null;
  plan(random: () => number, durationMs: number): PlannedReading[];
}

const CHECKIN_DEVICES: DeviceKind[] = ['motion_sensor', 'smart_plug', 'button'];

/** A day at home compressed: motion every 15–45 s, the plug cycling, a morning BP reading. */
function dailyLife(random: () => number, durationMs: number): PlannedReading[] {
  const out: PlannedReading[] = [];
  for (let t = between(random, 1000, 5000); t < durationMs; t += between(random, 15_000, 45_000)) {
    out.push({ atMs: t, device: 'motion_sensor', reading: { type: 'motion', detected: true } });
  }
  for (let t = between(random, 2000, 8000), on = true; t < durationMs; t += between(random, 30_000, 90_000), on = !on) {
    out.push({ atMs: t, device: 'smart_plug', reading: { type: 'power', watts: on ? between(random, 60, 120, 1) : between(random, 0.5, 2, 1) } });
  }
  return out;
}

const emergency = (
  name: string,
  device: DeviceKind,
  expect: Scenario['expect'],
  reading: (random: () => number) => Reading,
): Scenario => ({
  name,
  devices: [...CHECKIN_DEVICES, device],
  expect,
  plan: (random, durationMs) => [
    ...dailyLife(random, durationMs),
    { atMs: between(random, 8000, 30_000), device, reading: reading(random) },
  ],
});

export const scenarios: Record<string, Scenario> = {
  normal: {
    name: 'normal',
    devices: [...CHECKIN_DEVICES, 'bp_monitor'],
    expect: null,
    plan: (random, durationMs) => [
      ...dailyLife(random, durationMs),
      { atMs: between(random, 3000, 20_000), device: 'bp_monitor', reading: { type: 'blood_pressure', systolic: between(random, 112, 138), diastolic: between(random, 68, 86), pulse: between(random, 60, 84) } },
    ],
  },
  hypoxia: emergency('hypoxia', 'pulse_oximeter', { kind: 'abnormal_vital', rule: 'spo2', severity: 'critical' }, (r) => ({
    type: 'spo2', spo2: between(r, 84, 89), pulse: between(r, 100, 118),
  })),
  hypertensive_crisis: emergency('hypertensive_crisis', 'bp_monitor', { kind: 'abnormal_vital', rule: 'systolic', severity: 'critical' }, (r) => ({
    type: 'blood_pressure', systolic: between(r, 182, 200), diastolic: between(r, 105, 118), pulse: between(r, 80, 95),
  })),
  hypoglycaemia: emergency('hypoglycaemia', 'glucometer', { kind: 'abnormal_vital', rule: 'glucose', severity: 'critical' }, (r) => ({
    type: 'glucose', mg_dl: between(r, 40, 50), context: 'before_meal',
  })),
  fever: emergency('fever', 'thermometer', { kind: 'abnormal_vital', rule: 'temperature', severity: 'warning' }, (r) => ({
    type: 'temperature', celsius: between(r, 38.0, 38.9, 1),
  })),
  sos: emergency('sos', 'button', { kind: 'sos', rule: 'sos', severity: 'critical' }, () => ({ type: 'sos' })),
  fall: emergency('fall', 'smart_band', { kind: 'fall', rule: 'fall', severity: 'critical' }, (r) => ({ type: 'fall', confidence: between(r, 0.8, 0.99, 2) })),
  silent: {
    name: 'silent',
    devices: CHECKIN_DEVICES,
    // A 36-second window so the demo shows a missed check-in within a minute.
    inactivityHours: 0.01,
    expect: { kind: 'missed_checkin', rule: 'inactivity', severity: 'warning' },
    plan: () => [],
  },
};
