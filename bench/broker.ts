import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../core/net.js';
import type { Bench, BenchResult } from './run.js';
import { createLogger } from '../core/logger.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import { provision, runLoad, startPlatformProcess, type LoadJob, type PlatformChild } from './support.js';

const PAYLOAD = JSON.stringify({ type: 'heart_rate', bpm: 72 });

/** Debian's mosquitto with no auth and no persistence: the ceiling for plain QoS 1 fan-in on this machine. */
async function withMosquitto<T>(use: (url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dh-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type error\nmax_inflight_messages 0\nmax_queued_messages 0\n`);
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  try {
    await waitFor(
      () => new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        }).once('error', () => resolve(false));
      }),
      10_000,
      'mosquitto',
    );
    return await use(`mqtt://127.0.0.1:${port}`);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * QoS 1 fan-in through our broker (authentication, topic ACL, validation and
 * the durable outbox before each PUBACK) against the same load through
 * mosquitto with none of that, in the same run.
 */
export const run: Bench = async ({ quick }) => {
  const devices = 50;
  const messagesPerDevice = quick ? 400 : 2000;
  const job = (url: string, ids: { id: string; secret?: string }[]): LoadJob => ({
    url, devices: ids, messagesPerDevice, inFlightPerDevice: 20, payload: PAYLOAD,
  });

  const mosquitto = await withMosquitto((url) => runLoad(job(url, Array.from({ length: devices }, (_, i) => ({ id: `bench-${i}` })))));

  // The platform as `npm start` runs it, with its own influxd; the per-device rate limit is lifted
  // (20 messages in flight per device far exceeds a real device's rate) but still runs for every message.
  const dir = mkdtempSync(join(tmpdir(), 'dh-bench-broker-'));
  const influxd = await startManagedInfluxd(join(dir, 'influxdb'), createLogger('warn'));
  let platform: PlatformChild | undefined;
  let ours;
  try {
    platform = await startPlatformProcess(influxd.url, join(dir, 'platform'));
    ours = await runLoad(job(platform.mqttUrl, await provision(platform, devices, 'broker')));
  } finally {
    await platform?.stop();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (r: { messages: number; seconds: number }) => Math.round(r.messages / r.seconds);
  const result: BenchResult = {
    name: 'broker',
    figures: {
      devices,
      messages: ours.messages,
      ours_msgs_per_s: rate(ours),
      mosquitto_msgs_per_s: rate(mosquitto),
      ours_puback_p99_ms: ours.latencyMs.p99,
      mosquitto_puback_p99_ms: mosquitto.latencyMs.p99,
    },
    ratios: { ours_vs_mosquitto: rate(ours) / rate(mosquitto) },
    notes: 'QoS 1, 20 in flight per device; ours = auth + ACL + zod + outbox group commit before PUBACK',
  };
  return [result];
};
