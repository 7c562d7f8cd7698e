import type { DeviceKind } from '../../core/schemas/registry.js';
import type { Stack } from './stack.js';

/** Two dongs of Jongno-gu (행정동 codes): 청운효자동 and 사직동. */
export const DEMO_DONG_A = '1111051500';
export const DEMO_DONG_B = '1111053000';

const HOUR = 3_600_000;

interface DemoResident {
  displayName: string;
  birthYear: number;
  phone: string;
  dong: string;
  devices: DeviceKind[];
  diabetic?: boolean;
}

const residents: DemoResident[] = [
  { displayName: '김영자', birthYear: 1941, phone: '010-2841-5530', dong: DEMO_DONG_A, devices: ['pulse_oximeter', 'bp_monitor', 'thermometer', 'motion_sensor', 'button'] },
  { displayName: '박순자', birthYear: 1938, phone: '010-7723-1184', dong: DEMO_DONG_A, devices: ['pulse_oximeter', 'bp_monitor', 'motion_sensor', 'button'] },
  { displayName: '이말순', birthYear: 1945, phone: '010-3390-2276', dong: DEMO_DONG_A, devices: ['bp_monitor', 'glucometer', 'door_sensor', 'button'], diabetic: true },
  { displayName: '최복례', birthYear: 1943, phone: '010-5517-9042', dong: DEMO_DONG_A, devices: ['thermometer', 'pulse_oximeter', 'motion_sensor', 'button'] },
  { displayName: '정옥자', birthYear: 1940, phone: '010-6604-3318', dong: DEMO_DONG_A, devices: ['smart_band', 'motion_sensor', 'button'] },
  { displayName: '한상철', birthYear: 1947, phone: '010-8125-4470', dong: DEMO_DONG_A, devices: ['bp_monitor', 'scale', 'smart_plug', 'button'] },
  { displayName: '윤금순', birthYear: 1936, phone: '010-2278-6651', dong: DEMO_DONG_A, devices: ['pulse_oximeter', 'motion_sensor', 'button'] },
  { displayName: '강덕수', birthYear: 1944, phone: '010-9943-0827', dong: DEMO_DONG_A, devices: ['glucometer', 'bp_monitor', 'door_sensor', 'button'], diabetic: true },
  { displayName: '오정희', birthYear: 1939, phone: '010-4418-7395', dong: DEMO_DONG_B, devices: ['pulse_oximeter', 'button'] },
  { displayName: '서명자', birthYear: 1942, phone: '010-1570-2263', dong: DEMO_DONG_B, devices: ['bp_monitor', 'button'] },
];

export interface DemoData {
  residents: Map<string, { id: string; devices: Map<DeviceKind, { id: string; secret: string }> }>;
  /** How many readings of each type each resident got in the history. */
  historyCount: Map<string, Record<string, number>>;
}

/** A small deterministic PRNG so every seed draws the same week. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Six days of plausible vital signs, twice a day (inside the page's 7-day view), one MQTT batch per device. */
function history(resident: DemoResident, index: number, now: number): Map<DeviceKind, Record<string, unknown>[]> {
  const rand = prng(index + 7);
  const jitter = (spread: number) => (rand() - 0.5) * 2 * spread;
  const byDevice = new Map<DeviceKind, Record<string, unknown>[]>();
  const add = (kind: DeviceKind, reading: Record<string, unknown>) => {
    if (!resident.devices.includes(kind)) return;
    if (!byDevice.has(kind)) byDevice.set(kind, []);
    byDevice.get(kind)!.push(reading);
  };
  const baseSys = 118 + index * 2;
  for (let day = 6; day >= 1; day--) {
    for (const hour of [8, 20]) {
      const ts = now - day * 24 * HOUR + (hour - 12) * HOUR + Math.round(jitter(0.4 * HOUR));
      const sys = Math.round(baseSys + jitter(9));
      add('bp_monitor', { type: 'blood_pressure', systolic: sys, diastolic: Math.round(sys * 0.6 + jitter(5)), pulse: Math.round(74 + jitter(8)), ts });
      add('pulse_oximeter', { type: 'spo2', spo2: Math.round(97 + jitter(1.4)), pulse: Math.round(72 + jitter(9)), ts: ts + 60_000 });
      if (resident.diabetic) add('glucometer', { type: 'glucose', mg_dl: Math.round((hour === 8 ? 118 : 165) + jitter(22)), context: hour === 8 ? 'fasting' : 'after_meal', ts: ts + 120_000 });
      if (hour === 8) {
        add('thermometer', { type: 'temperature', celsius: Math.round((36.5 + jitter(0.3)) * 10) / 10, ts: ts + 180_000 });
        add('scale', { type: 'weight', kg: Math.round((61 + jitter(0.6)) * 10) / 10, ts: ts + 240_000 });
      }
      add('smart_band', { type: 'heart_rate', bpm: Math.round(70 + jitter(10)), ts });
      add('motion_sensor', { type: 'motion', detected: true, ts: ts + 300_000 });
      add('door_sensor', { type: 'door', open: true, ts: ts + 600_000 });
      add('smart_plug', { type: 'power', watts: Math.round(40 + jitter(30)), ts: ts + 900_000 });
    }
  }
  return byDevice;
}

/**
 * Registers the demo residents, their devices and staff through the admin API, and publishes a
 * week of readings over MQTT (so they pass the real ingest path into InfluxDB).
 */
export async function seedDemo(stack: Stack, now = Date.now()): Promise<DemoData> {
  const data: DemoData = { residents: new Map(), historyCount: new Map() };
  for (const [index, r] of residents.entries()) {
    const created = await stack.addResident({ displayName: r.displayName, birthYear: r.birthYear, phone: r.phone, dong: r.dong });
    const devices = new Map<DeviceKind, { id: string; secret: string }>();
    for (const kind of r.devices) devices.set(kind, await stack.addDevice(created.id, kind));
    data.residents.set(r.displayName, { id: created.id, devices });

    const counts: Record<string, number> = {};
    const readingsOf = history(r, index, now);
    const battery = prng(index + 101);
    for (const [kind, device] of devices) {
      const readings = readingsOf.get(kind) ?? [];
      const client = await stack.connectDevice(device);
      if (readings.length) await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ readings }), { qos: 1 });
      await client.publishAsync(`dh/v1/devices/${device.id}/status`,
        JSON.stringify({ online: true, battery: 30 + Math.round(battery() * 70) }), { qos: 1, retain: true });
      await client.endAsync();
      for (const reading of readings) counts[reading.type as string] = (counts[reading.type as string] ?? 0) + 1;
    }
    data.historyCount.set(r.displayName, counts);
  }
  return data;
}

/** Publishes readings from one of a demo resident's devices now. */
export async function publishNow(stack: Stack, demo: DemoData, name: string, kind: DeviceKind, readings: Record<string, unknown>[]): Promise<void> {
  const device = demo.residents.get(name)!.devices.get(kind)!;
  const client = await stack.connectDevice(device);
  await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ readings }), { qos: 1 });
  await client.endAsync();
}

/** Publishes a device status message (e.g. the device going offline). */
export async function publishStatus(stack: Stack, demo: DemoData, name: string, kind: DeviceKind, status: Record<string, unknown>): Promise<void> {
  const device = demo.residents.get(name)!.devices.get(kind)!;
  const client = await stack.connectDevice(device);
  await client.publishAsync(`dh/v1/devices/${device.id}/status`, JSON.stringify(status), { qos: 1, retain: true });
  await client.endAsync();
}
