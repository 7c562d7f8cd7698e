import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox.js';

// The WAL fsync runs on the thread pool; here it is held until the test lets it go,
// to show that no append resolves (no PUBACK) before its group's sync has finished.
const syncs = vi.hoisted(() => [] as (() => void)[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, fsync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => syncs.push(() => fs.fsync(fd, done)) };
});

const device = { deviceId: 'd1', residentId: 'r1', dong: '1111051500' };
const entry = (bpm: number) => ({ device, at: Date.now(), readings: [{ type: 'heart_rate' as const, ts: Date.now(), fields: { bpm } }], lines: Buffer.from(`x bpm=${bpm}\n`), receipt: undefined });
const settled = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 50))]);

describe('Outbox durability', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dh-outbox-sync-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves an append only once the WAL holding it is synced, and commits what came meanwhile as the next group', async () => {
    const outbox = new Outbox(join(dir, 'outbox.db'), { memoryReadings: 1000, receiptsKept: 10, holdMs: 100 });
    const first = outbox.append(entry(70));
    await vi.waitFor(() => expect(syncs).toHaveLength(1)); // committed, sync running
    const second = outbox.append(entry(71));
    expect(await settled(first)).toBe(false);
    expect(syncs).toHaveLength(1); // the second waits for the first sync to end
    syncs.shift()!();
    expect(await first).toBe(1);
    expect(await settled(second)).toBe(false);
    await vi.waitFor(() => expect(syncs).toHaveLength(1));
    syncs.shift()!();
    expect(await second).toBe(2);
    await outbox.close();
  });
});
