import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { startManagedInfluxd, type ManagedInfluxd } from '../../influx/managed-influxd.js';
import { countPoints, readingsTopic } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const READINGS_PER_MESSAGE = 50;
const MAX_ATTEMPTS = 200; // publishes tried on the full disk before the test gives up waiting for a refusal

interface Health {
  status: 'ok' | 'degraded' | 'down';
  checks: Record<string, { ok: boolean; detail?: string | number }>;
}

/** Writes zeros into `file` until the file system says ENOSPC; returns the bytes written. */
function fillUntilFull(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return written;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * One QoS 1 publish: 'acked' on PUBACK, 'refused' when the broker closes the
 * connection instead (aedes closes an MQTT 3.1.1 client whose publish
 * authorization fails; 3.1.1 has no negative PUBACK).
 */
function publishOnce(client: MqttClient, topic: string, payload: string): Promise<'acked' | 'refused'> {
  return new Promise((resolve) => {
    const onClose = () => {
      client.end(true); // flushes the outgoing callback with an error
      resolve('refused');
    };
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'refused' : 'acked');
    });
  });
}

describe('a full DATA_DIR (tmpfs filled to ENOSPC)', () => {
  const base = mkdtempSync(join(tmpdir(), 'dh-disk-full-'));
  const dataDir = join(base, 'data');
  const filler = join(dataDir, 'filler');
  let mounted = false;
  let influxd: ManagedInfluxd | undefined;
  let stack: Stack | undefined;

  beforeAll(async () => {
    mkdirSync(dataDir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dataDir], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      throw new Error(
        `this fault test mounts an 8 MB tmpfs as DATA_DIR and needs root (CAP_SYS_ADMIN); mount failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`,
      );
    }
    // InfluxDB outside the small file system: only the platform's own stores fill up.
    influxd = await startManagedInfluxd(join(base, 'influxdb'), createLogger('silent'));
    // The refusals are logged as errors by design; quiet unless asked (TEST_LOG_LEVEL).
    stack = await startStack({ INFLUX_URL: influxd.url, INFLUX_DB: 'disk_full', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' }, dataDir);
  });

  afterAll(async () => {
    try {
      await stack?.stop();
    } finally {
      try {
        await influxd?.stop();
      } finally {
        if (mounted) {
          try {
            execFileSync('umount', [dataDir], { stdio: 'pipe' });
          } catch {
            execFileSync('umount', ['-l', dataDir], { stdio: 'pipe' }); // lazily, if something still holds a file open
          }
        }
        rmSync(base, { recursive: true, force: true });
      }
    }
  });

  const health = async () => {
    const r = await stack!.api<Health>('/healthz');
    return { code: r.status, ...r.body };
  };

  it('refuses QoS 1 publishes it cannot keep, says why on /healthz, and recovers when space returns', async () => {
    const s = stack!;
    const resident = await s.addResident({ dong: DONG });
    const device = await s.addDevice(resident.id, 'gateway');
    const topic = readingsTopic(device.id);
    const baseTs = Date.now() - 10 * 60_000;
    let nextTs = baseTs;
    const message = () => JSON.stringify({ readings: Array.from({ length: READINGS_PER_MESSAGE }, () => ({ type: 'heart_rate', bpm: 72, ts: nextTs++ })) });
    let acked = 0;

    // Space to spare: stored.
    let client = await s.connectDevice(device);
    expect(await publishOnce(client, topic, message())).toBe('acked');
    acked += READINGS_PER_MESSAGE;
    expect((await health()).checks.store?.ok).toBe(true);

    // Disk full: the broker must refuse rather than PUBACK. SQLite may still fit a few
    // commits into pages it already holds (those are kept, and PUBACKed rightly), so
    // publish until the refusal, each PUBACK counted as a reading that must be stored.
    expect(fillUntilFull(filler)).toBeGreaterThan(0);
    let refused = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !refused; attempt++) {
      if (await publishOnce(client, topic, message()) === 'acked') acked += READINGS_PER_MESSAGE;
      else refused = true;
    }
    expect(refused, `the broker PUBACKed ${MAX_ATTEMPTS} messages on a full disk`).toBe(true);

    const down = await health();
    expect(down.code).toBe(503);
    expect(down.status).toBe('down');
    expect(down.checks.store?.ok).toBe(false);
    expect(String(down.checks.store?.detail ?? '')).toMatch(/full|space|ENOSPC|read-only|readonly/i);

    // Still full: a reconnecting device is refused again, and health stays down.
    client = await s.connectDevice(device);
    expect(await publishOnce(client, topic, message())).toBe('refused');
    expect((await health()).code).toBe(503);

    // Space back: the next publishes are PUBACKed and stored, health recovers.
    unlinkSync(filler);
    client = await s.connectDevice(device);
    for (let i = 0; i < 5; i++) {
      expect(await publishOnce(client, topic, message())).toBe('acked');
      acked += READINGS_PER_MESSAGE;
    }
    await client.endAsync();
    await waitFor(async () => ['ok', 'degraded'].includes((await health()).status), 15_000, '/healthz to leave down');
    const back = await health();
    expect(back.code).toBe(200);
    expect(back.checks.store?.ok).toBe(true);
    await waitFor(async () => (await countPoints(s.platform.influx, 'heart_rate', device.id)) >= acked, 30_000, 'every PUBACKed reading in InfluxDB');
    expect(await countPoints(s.platform.influx, 'heart_rate', device.id)).toBe(acked);
  });
});
