import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../core/schemas/alert.js';
import { openAlertStore } from './store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dh-alert-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const at = Date.UTC(2026, 10, 27);
function draft(id: string, overrides: Partial<Alert> = {}): Omit<Alert, 'seq'> {
  return {
    id, residentId: 'r-1', dong: '1111051500', kind: 'sos', rule: 'sos', severity: 'critical', status: 'open', level: 'dong',
    openedAt: at, lastSeenAt: at, count: 1, lastValue: null, reason: 'SOS button pressed', history: [{ at, action: 'opened', by: 'system' }], ...overrides,
  };
}

describe('openAlertStore', () => {
  it('gives the alerts of one commit consecutive seqs in order, and keeps state and cursor with them', () => {
    const file = join(dir, 'alerts.db');
    const store = openAlertStore(file);
    const stored = store.commit({
      alerts: [draft('a-1'), draft('a-2')],
      residents: [{ residentId: 'r-1', lastActivityAt: at, missedFiredFor: null, memory: { weights: [{ at, kg: 61 }] } }],
      devices: [{ deviceId: 'd-1', residentId: 'r-1', lastSeenAt: at, silenceFrom: at, offlineFiredFor: null, levels: { power: 3 } }],
      cursor: 42,
      aliveAt: at + 5,
    });
    expect(stored.map((a) => a.seq)).toEqual([1, 2]);
    store.close();

    const reopened = openAlertStore(file);
    expect(reopened.lastSeq()).toBe(2);
    expect(reopened.cursor()).toBe(42);
    expect([...reopened.loadActivity()]).toEqual([{ residentId: 'r-1', lastActivityAt: at, missedFiredFor: null, memory: { weights: [{ at, kg: 61 }] } }]);
    expect([...reopened.loadDevices()]).toEqual([{ deviceId: 'd-1', residentId: 'r-1', lastSeenAt: at, silenceFrom: at, offlineFiredFor: null, levels: { power: 3 } }]);
    expect(reopened.aliveAt()).toBe(at + 5);
    reopened.close();
  });

  it('never moves the cursor back', () => {
    const store = openAlertStore(join(dir, 'alerts.db'));
    store.commit({ cursor: 10 });
    store.commit({ cursor: 4 });
    expect(store.cursor()).toBe(10);
    store.close();
    const reopened = openAlertStore(join(dir, 'alerts.db'));
    expect(reopened.cursor()).toBe(10);
    reopened.close();
  });

  it('stores nothing of a commit that fails, and gives its seqs to the next one', () => {
    const store = openAlertStore(join(dir, 'alerts.db'));
    const unserialisable = draft('a-2', { lastValue: 1n as unknown as number });
    expect(() => store.commit({ alerts: [draft('a-1'), unserialisable], cursor: 5 })).toThrow();
    expect(store.get('a-1')).toBeUndefined();
    expect(store.lastSeq()).toBe(0);
    expect(store.cursor()).toBe(0);
    expect(store.save(draft('a-3')).seq).toBe(1);
    store.close();
  });

  it('opens a store written before the rules had memory, keeping its activity', () => {
    const file = join(dir, 'alerts.db');
    const old = new Database(file);
    old.exec('CREATE TABLE activity (resident_id TEXT PRIMARY KEY, last_activity_at INTEGER NOT NULL, missed_fired_for INTEGER)');
    old.prepare('INSERT INTO activity VALUES (?, ?, ?)').run('r-1', at, null);
    old.close();

    const store = openAlertStore(file);
    expect([...store.loadActivity()]).toEqual([{ residentId: 'r-1', lastActivityAt: at, missedFiredFor: null }]);
    store.saveActivity([{ residentId: 'r-1', lastActivityAt: at + 1, missedFiredFor: null, memory: { pending: { spo2: at } } }]);
    expect([...store.loadActivity()][0]?.memory).toEqual({ pending: { spo2: at } });
    store.close();
  });
});
