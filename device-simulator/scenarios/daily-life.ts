import type { DeviceKind } from '../../core/schemas/registry.js';
import { between, chance, clamp, gaussian, pick, round, streamOf, type Random } from '../random.js';
import { DAY, MINUTE } from '../sim-clock.js';
import type { Reading } from './types.js';

/** What one home has: check-in sensors (응급안전안심서비스 style) and the visiting nurse's health kit. */
export const HOME_KIT: readonly DeviceKind[] = [
  'motion_sensor', 'door_sensor', 'smart_plug', 'button', 'bp_monitor', 'glucometer', 'pulse_oximeter', 'thermometer',
];

/** One thing a home does, at a life time (ms since the midnight before the run's first day). */
export interface LifeEvent {
  lifeTime: number;
  device: DeviceKind;
  reading: Reading;
}

/** A resident's own habits and baselines: every day of theirs scatters around these. */
export interface Profile {
  wakeMinute: number;
  sleepMinute: number;
  systolic: number;
  diastolic: number;
  pulse: number;
  fastingGlucose: number;
  spo2: number;
  celsius: number;
  applianceWatts: number; // the TV or rice cooker on the smart plug
  standbyWatts: number;
}

/**
 * Ranges a normal day stays within: inside every default band of
 * alerts/rules/vital-bands.ts with a margin, and at NEWS2 score 0 where NEWS2
 * scores the vital, so a `normal` home never raises an alert.
 */
export const NORMAL_RANGES = {
  systolic: [112, 150],
  diastolic: [62, 92],
  pulse: [56, 90],
  glucose: [80, 180],
  spo2: [96, 99],
  celsius: [36.2, 37.4],
} as const satisfies Record<string, readonly [number, number]>;

const within = (value: number, [min, max]: readonly [number, number], digits = 0) => round(clamp(value, min, max), digits);

// The plug's draw scatters by at most this much around its level: well inside the
// platform's 5 W noise band (alerts/rules/activity.ts), so only a switch is activity.
export const PLUG_SCATTER_WATTS = 2;

export function profileOf(seed: number): Profile {
  const r = streamOf(seed, 'profile');
  return {
    wakeMinute: between(r, 330, 420),
    sleepMinute: between(r, 1260, 1350),
    systolic: between(r, 118, 136),
    diastolic: between(r, 70, 82),
    pulse: between(r, 62, 78),
    fastingGlucose: between(r, 90, 118),
    spo2: between(r, 96, 98),
    celsius: between(r, 36.4, 36.8, 1),
    applianceWatts: between(r, 70, 140),
    standbyWatts: between(r, 0.4, 1.5, 1),
  };
}

export function plugWatts(random: Random, level: number): number {
  return round(clamp(gaussian(random, level, level * 0.01), level - PLUG_SCATTER_WATTS, level + PLUG_SCATTER_WATTS), 1);
}

interface DayOfLife {
  events: LifeEvent[];
  /** When the appliance on the plug was on, [start, end) in life time. */
  applianceOn: [number, number][];
}

/** One day of one resident, generated from (seed, day) alone. */
function dayOfLife(p: Profile, seed: number, day: number, wearsBand: boolean): DayOfLife {
  const r = streamOf(seed, 'day', day);
  const midnight = day * DAY;
  const events: LifeEvent[] = [];
  const add = (minute: number, device: DeviceKind, reading: Reading) => events.push({ lifeTime: midnight + minute * MINUTE, device, reading });
  const wake = p.wakeMinute + clamp(gaussian(r, 0, 12), -30, 30);
  const sleep = p.sleepMinute + clamp(gaussian(r, 0, 15), -40, 40);

  // Outings (market, 경로당, clinic): the door opens and shuts, and the home is still meanwhile.
  const outings: [number, number][] = [];
  const slots: [number, number][] = [[wake + 120, 690], [840, 1020]];
  for (const [from, to] of slots.slice(0, pick(r, [0, 1, 1, 2]))) {
    const start = between(r, from, Math.max(from, to - 60));
    outings.push([start, start + between(r, 40, 150)]);
  }
  const away = (m: number) => outings.some(([s, e]) => m >= s && m < e);
  const atHome = (m: number) => outings.find(([s, e]) => m >= s && m < e)?.[1] ?? m; // after the outing if out
  for (const [s, e] of outings) {
    add(s - 1, 'motion_sensor', { type: 'motion', detected: true });
    add(s, 'door_sensor', { type: 'door', open: true });
    add(s + 0.5, 'door_sensor', { type: 'door', open: false });
    add(e, 'door_sensor', { type: 'door', open: true });
    add(e + 0.5, 'door_sensor', { type: 'door', open: false });
  }

  // Moving about while awake: spells of motion with quiet stretches between.
  for (let m = wake; m < sleep; ) {
    const spell = between(r, 4, 20);
    for (let k = m; k < Math.min(m + spell, sleep); k += between(r, 1, 4, 1)) {
      if (!away(k)) add(k, 'motion_sensor', { type: 'motion', detected: true });
    }
    m += spell + between(r, 10, 60);
  }
  // Quiet nights: a trip or two to the bathroom.
  for (let i = pick(r, [0, 1, 1, 2]); i > 0; i--) {
    const m = between(r, 60, wake - 30);
    add(m, 'motion_sensor', { type: 'motion', detected: true });
    add(m + between(r, 2, 6), 'motion_sensor', { type: 'motion', detected: true });
  }

  // The plug: the TV in the morning and evening, sometimes at midday. It reports
  // every 10 min (a flaky Wi-Fi loses one now and then) and at each switch.
  const sessions: [number, number][] = [];
  const morning = atHome(wake + between(r, 20, 60));
  sessions.push([morning, morning + between(r, 30, 90)]);
  if (chance(r, 0.5)) {
    const noon = between(r, 780, 840);
    if (!away(noon)) sessions.push([noon, noon + between(r, 30, 90)]);
  }
  const evening = atHome(between(r, 1110, 1170));
  sessions.push([evening, Math.max(evening + 30, Math.min(evening + between(r, 90, 180), sleep - 5))]);
  const on = (m: number) => sessions.some(([s, e]) => m >= s && m < e);
  const level = (m: number) => (on(m) ? p.applianceWatts : p.standbyWatts);
  for (let m = between(r, 0, 10, 1); m < 1440; m += 10) {
    if (!chance(r, 0.04)) add(m, 'smart_plug', { type: 'power', watts: plugWatts(r, level(m)) });
  }
  for (const [s, e] of sessions) {
    add(s, 'smart_plug', { type: 'power', watts: plugWatts(r, p.applianceWatts) });
    add(e, 'smart_plug', { type: 'power', watts: plugWatts(r, p.standbyWatts) });
  }

  // Health readings: blood pressure morning and evening, glucose before meals,
  // now and then SpO2 and temperature, each scattered around the resident's own baseline.
  const bloodPressure = (shift: number): Reading => ({
    type: 'blood_pressure',
    systolic: within(gaussian(r, p.systolic + shift, 6), NORMAL_RANGES.systolic),
    diastolic: within(gaussian(r, p.diastolic + shift / 2, 4), NORMAL_RANGES.diastolic),
    pulse: within(gaussian(r, p.pulse, 4), NORMAL_RANGES.pulse),
  });
  add(atHome(wake + between(r, 15, 60)), 'bp_monitor', bloodPressure(0));
  add(atHome(sleep - between(r, 15, 60)), 'bp_monitor', bloodPressure(-4));
  add(atHome(wake + between(r, 5, 30)), 'glucometer', { type: 'glucose', mg_dl: within(gaussian(r, p.fastingGlucose, 8), NORMAL_RANGES.glucose), context: 'fasting' });
  for (const meal of [720, 1080]) {
    add(atHome(meal - between(r, 0, 30)), 'glucometer', { type: 'glucose', mg_dl: within(gaussian(r, p.fastingGlucose + 10, 12), NORMAL_RANGES.glucose), context: 'before_meal' });
  }
  if (chance(r, 0.4)) {
    add(atHome(between(r, 540, 660)), 'pulse_oximeter', { type: 'spo2', spo2: within(gaussian(r, p.spo2, 0.8), NORMAL_RANGES.spo2), pulse: within(gaussian(r, p.pulse, 4), NORMAL_RANGES.pulse) });
  }
  if (chance(r, 0.25)) {
    add(atHome(between(r, 480, 600)), 'thermometer', { type: 'temperature', celsius: within(gaussian(r, p.celsius, 0.15), NORMAL_RANGES.celsius, 1) });
  }
  // Some residents press "I'm OK" on the button after the morning call.
  if (chance(r, 0.15)) add(atHome(between(r, 540, 720)), 'button', { type: 'checkin_button' });

  if (wearsBand) {
    let steps = 0;
    for (let m = Math.ceil(wake / 30) * 30; m < sleep; m += 30) {
      steps += away(m) ? between(r, 600, 1500) : between(r, 40, 400);
      add(m, 'smart_band', { type: 'steps', count: steps });
      add(m + 1, 'smart_band', { type: 'heart_rate', bpm: within(gaussian(r, p.pulse + (away(m) ? 8 : 0), 4), NORMAL_RANGES.pulse) });
    }
  }

  events.sort((a, b) => a.lifeTime - b.lifeTime);
  return { events, applianceOn: sessions.map(([s, e]) => [midnight + s * MINUTE, midnight + e * MINUTE]) };
}

/** Everything a home does in [fromLife, toLife), in time order, from its devices of `kinds`. */
export function lifeBetween(seed: number, fromLife: number, toLife: number, kinds: ReadonlySet<DeviceKind>): LifeEvent[] {
  const profile = profileOf(seed);
  const out: LifeEvent[] = [];
  // A day's evening can run past its midnight, so start a day early.
  for (let day = Math.floor(fromLife / DAY) - 1; day <= Math.floor(toLife / DAY); day++) {
    for (const e of dayOfLife(profile, seed, day, kinds.has('smart_band')).events) {
      if (e.lifeTime >= fromLife && e.lifeTime < toLife && kinds.has(e.device)) out.push(e);
    }
  }
  return out;
}

/** The plug's level (watts, before scatter) at a life time: the appliance's draw or standby. */
export function plugLevelAt(seed: number, lifeTime: number): number {
  const profile = profileOf(seed);
  const day = Math.floor(lifeTime / DAY);
  const on = [day - 1, day].some((d) => dayOfLife(profile, seed, d, false).applianceOn.some(([s, e]) => lifeTime >= s && lifeTime < e));
  return on ? profile.applianceWatts : profile.standbyWatts;
}
