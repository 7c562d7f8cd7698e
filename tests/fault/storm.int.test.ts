import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { countPoints, readingsTopic } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const STORM_DEVICES = 2000;
const STEADY_EVERY_MS = 50;
const ALERT_CHANGES = 2000;
const CONNECT_WORKER = new URL('../../dist/bench/connect-worker.js', import.meta.url).pathname;

interface Health {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string | number }>;
}

/**
 * One device publishing a heart rate at QoS 1 every `everyMs` (a timer, not a
 * closed loop: a stalled broker shows as PUBACKs falling behind), each with
 * its own ts. `stop()` ends the timer and waits for the outstanding PUBACKs.
 */
function steadyPublisher(client: MqttClient, deviceId: string, everyMs: number) {
  const sent: number[] = [];
  const acked: number[] = [];
  const failed: number[] = [];
  let ts = Date.now() - 5 * 60_000;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const t = ts++;
    sent.push(t);
    const p: Promise<void> = client
      .publishAsync(readingsTopic(deviceId), JSON.stringify({ type: 'heart_rate', bpm: 66, ts: t }), { qos: 1 })
      .then(() => void acked.push(t), () => void failed.push(t))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, everyMs);
  return {
    sent, acked, failed,
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
  };
}

describe('ingest under a connection storm and a slow console', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'dh-storm-'));
  const children: ChildProcess[] = [];
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];
  const raw: WebSocket[] = [];

  beforeAll(async () => {
    if (!existsSync(CONNECT_WORKER)) throw new Error(`${CONNECT_WORKER} missing: build first (npx tsc -p .; make test builds before vitest)`);
    stack = await startStack({ MQTT_DEVICE_RATE: '100000', MQTT_DEVICE_BURST: '100000' });
  });
  afterAll(async () => {
    for (const w of raw) w.terminate();
    for (const s of sockets) s.disconnect();
    for (const c of clients) c.end(true);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const health = async () => (await stack.api<Health>('/healthz')).body;

  it(`keeps PUBACKing and storing a steady device while ${STORM_DEVICES} devices connect at once`, async () => {
    // Provision in-process: the registry hashes device secrets with the cheap device scrypt cost.
    const residents = Array.from({ length: 20 }, () => stack.platform.registry.createResident({ displayName: '접속 폭주', dong: DONG }));
    const storm: { id: string; secret: string }[] = [];
    for (let i = 0; i < STORM_DEVICES; i += 100) {
      storm.push(...(await Promise.all(Array.from({ length: Math.min(100, STORM_DEVICES - i) }, (_, k) =>
        stack.platform.registry.createDevice({ residentId: residents[(i + k) % residents.length]!.id, kind: 'motion_sensor' })
          .then(({ device, secret }) => ({ id: device.id, secret }))))));
    }
    const devicesFile = join(dir, 'storm-devices.json');
    writeFileSync(devicesFile, JSON.stringify(storm), { mode: 0o600 });

    const resident = await stack.addResident({ dong: DONG });
    const steadyDevice = await stack.addDevice(resident.id, 'pulse_oximeter');
    const client = await stack.connectDevice(steadyDevice);
    clients.push(client);
    const steady = steadyPublisher(client, steadyDevice.id, STEADY_EVERY_MS);
    await waitFor(() => steady.acked.length >= 5, 10_000, 'the steady device to get going');

    // Every storm device at once (concurrency = count), from another process.
    const ackedBefore = steady.acked.length;
    const worker = spawn(process.execPath, [CONNECT_WORKER, JSON.stringify({ url: stack.mqttUrl, devicesFile, concurrency: STORM_DEVICES })], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(worker);
    const report = await new Promise<{ connected: number; failed: number }>((resolve, reject) => {
      let out = '';
      worker.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as { connected: number; failed: number });
      });
      worker.once('exit', (code) => reject(new Error(`connect worker exited ${code} before reporting`)));
    });
    const sentDuringStorm = steady.sent.length;
    await steady.stop();

    expect(report).toEqual({ connected: STORM_DEVICES, failed: 0 });
    expect(sentDuringStorm - ackedBefore).toBeGreaterThan(0); // the steady device published while the storm ran
    expect(steady.failed).toEqual([]);
    expect(steady.acked.length).toBe(steady.sent.length); // every reading PUBACKed…
    await waitFor(async () => (await countPoints(stack.platform.influx, 'heart_rate', steadyDevice.id)) >= steady.acked.length, 30_000, 'the steady readings in InfluxDB');
    expect(await countPoints(stack.platform.influx, 'heart_rate', steadyDevice.id)).toBe(steady.acked.length); // …and stored once
    expect((await health()).status).toBe('ok');

    worker.stdin!.end(); // the storm devices leave
    await new Promise((resolve) => (worker.exitCode === null ? worker.once('exit', resolve) : resolve(undefined)));
  });

  it(`stores every reading while a console that never reads gets ${ALERT_CHANGES} alert changes`, async () => {
    const staff = await stack.addStaff('slow-reader', 'staff', [DONG]);

    // The slow console: engine.io over a raw WebSocket, joins /console, then stops reading its socket.
    const url = `${stack.httpUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const slow = new WebSocket(url);
    raw.push(slow);
    let joined = false;
    slow.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('0{')) slow.send(`40/console,${JSON.stringify({ token: staff.token })}`);
      if (text.startsWith('40/console,')) joined = true;
    });
    slow.on('error', () => {});
    await waitFor(() => joined, 10_000, 'the slow console to join');
    slow.pause(); // no more reads from the TCP socket: the server's writes pile up

    // A normal console counts the alert changes as they happen.
    let changes = 0;
    const fast = io(`${stack.httpUrl}/console`, { auth: { token: staff.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(fast);
    let ready = false;
    fast.on('ready', () => (ready = true));
    fast.on('alert', (_a: Alert) => changes++);
    await waitFor(() => ready, 10_000, 'the console');

    // Alert changes: SpO2 85 and SOS from several homes, one message at a time per device.
    const homes = await Promise.all(Array.from({ length: 8 }, async () => {
      const r = await stack.addResident({ dong: DONG });
      const d = await stack.addDevice(r.id, 'gateway');
      const c = await stack.connectDevice(d);
      clients.push(c);
      return { d, c };
    }));
    const resident = await stack.addResident({ dong: DONG });
    const steadyDevice = await stack.addDevice(resident.id, 'pulse_oximeter');
    const steadyClient = await stack.connectDevice(steadyDevice);
    clients.push(steadyClient);
    const steady = steadyPublisher(steadyClient, steadyDevice.id, STEADY_EVERY_MS);

    let stop = false;
    let abnormalAcked = 0;
    const healthSeen: string[] = [];
    const loops = homes.map(async ({ d, c }, i) => {
      for (let n = i; !stop; n++) {
        await c.publishAsync(readingsTopic(d.id), JSON.stringify(n % 2 ? { type: 'sos' } : { type: 'spo2', spo2: 85 }), { qos: 1 });
        abnormalAcked++;
      }
    });
    await waitFor(async () => {
      healthSeen.push((await health()).status);
      return changes >= ALERT_CHANGES;
    }, 50_000, `${ALERT_CHANGES} alert changes on the console`, 200);
    stop = true;
    await Promise.all(loops);
    await steady.stop();

    expect(abnormalAcked).toBeGreaterThan(0);
    expect(steady.failed).toEqual([]);
    expect(steady.acked.length).toBe(steady.sent.length);
    await waitFor(async () => (await countPoints(stack.platform.influx, 'heart_rate', steadyDevice.id)) >= steady.acked.length, 30_000, 'the steady readings in InfluxDB');
    expect(await countPoints(stack.platform.influx, 'heart_rate', steadyDevice.id)).toBe(steady.acked.length);
    expect(healthSeen.filter((s) => s !== 'ok')).toEqual([]);
    expect((await health()).status).toBe('ok');

    // The slow console was held, not dropped: reading again, it gets the changes it was sent.
    let received = 0;
    slow.on('message', (data: Buffer) => {
      if (data.toString().startsWith('42/console,["alert"')) received++;
    });
    slow.resume();
    await waitFor(() => received > 0, 20_000, 'the slow console to receive its backlog');
  });
});
