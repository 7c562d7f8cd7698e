import type { Alert, AlertLevel, AlertStatus } from '../core/schemas/alert.js';
import { openDb, type Db } from '../core/sqlite.js';

export interface AlertQuery {
  dongs: readonly string[] | null; // null = every dong
  status?: AlertStatus;
  level?: AlertLevel;
  dong?: string;
  limit: number;
  before?: number;
}

export interface ResidentActivityRow {
  residentId: string;
  lastActivityAt: number;
  missedFiredFor: number | null; // lastActivityAt for which missed_checkin already fired
}

/** Alerts and their history, durable before anyone is told (DESIGN §2 invariant 3). */
export interface AlertStore {
  /** Assigns the next seq and stores the alert in one transaction. */
  save(alert: Omit<Alert, 'seq'> | Alert): Alert;
  get(id: string): Alert | undefined;
  unresolved(): Alert[];
  list(query: AlertQuery): { alerts: Alert[]; next: number | null };
  changedSince(seq: number, dongs: readonly string[] | null, limit: number): Alert[];
  lastSeq(): number;
  loadActivity(): ResidentActivityRow[];
  saveActivity(rows: readonly ResidentActivityRow[]): void;
  close(): void;
}

interface AlertRow { n: number; body: string }

export function openAlertStore(file: string): AlertStore {
  const db: Db = openDb(file);
  db.exec(`
    CREATE TABLE IF NOT EXISTS alerts (
      n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL,
      dong TEXT NOT NULL, status TEXT NOT NULL, level TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS alerts_seq ON alerts(seq);
    CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status, n);
    CREATE TABLE IF NOT EXISTS activity (
      resident_id TEXT PRIMARY KEY, last_activity_at INTEGER NOT NULL, missed_fired_for INTEGER);
  `);
  let seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM alerts').get() as { s: number }).s;
  const upsert = db.prepare(`
    INSERT INTO alerts (id, seq, dong, status, level, body) VALUES (@id, @seq, @dong, @status, @level, @body)
    ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, dong = excluded.dong, status = excluded.status,
      level = excluded.level, body = excluded.body`);
  const byId = db.prepare<[string], AlertRow>('SELECT n, body FROM alerts WHERE id = ?');
  const unresolved = db.prepare<[], AlertRow>("SELECT n, body FROM alerts WHERE status != 'resolved' ORDER BY n");
  const upsertActivity = db.prepare(`
    INSERT INTO activity (resident_id, last_activity_at, missed_fired_for) VALUES (?, ?, ?)
    ON CONFLICT(resident_id) DO UPDATE SET last_activity_at = excluded.last_activity_at, missed_fired_for = excluded.missed_fired_for`);
  const parse = (row: AlertRow) => JSON.parse(row.body) as Alert;
  const saveTx = db.transaction((alert: Alert) => {
    upsert.run({ id: alert.id, seq: alert.seq, dong: alert.dong, status: alert.status, level: alert.level, body: JSON.stringify(alert) });
  });
  const saveActivityTx = db.transaction((rows: readonly ResidentActivityRow[]) => {
    for (const r of rows) upsertActivity.run(r.residentId, r.lastActivityAt, r.missedFiredFor);
  });

  function where(q: { dongs: readonly string[] | null; status?: string; level?: string; dong?: string }, extra: string[], params: unknown[]) {
    const clauses = [...extra];
    if (q.dongs) {
      clauses.push(`dong IN (${q.dongs.map(() => '?').join(',') || "''"})`);
      params.push(...q.dongs);
    }
    if (q.status) {
      clauses.push('status = ?');
      params.push(q.status);
    }
    if (q.level) {
      clauses.push('level = ?');
      params.push(q.level);
    }
    if (q.dong) {
      clauses.push('dong = ?');
      params.push(q.dong);
    }
    return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  }

  return {
    save(alert) {
      const stored = { ...alert, seq: seq + 1 } as Alert;
      saveTx(stored);
      seq = stored.seq; // only after the commit succeeded
      return stored;
    },
    get: (id) => {
      const row = byId.get(id);
      return row ? parse(row) : undefined;
    },
    unresolved: () => unresolved.all().map(parse),
    list(q) {
      const params: unknown[] = [];
      const extra = q.status ? [] : ["status != 'resolved'"];
      if (q.before !== undefined) {
        extra.push('n < ?');
        params.push(q.before);
      }
      const sql = `SELECT n, body FROM alerts ${where(q, extra, params)} ORDER BY n DESC LIMIT ?`;
      const rows = db.prepare<unknown[], AlertRow>(sql).all(...params, q.limit + 1);
      const page = rows.slice(0, q.limit);
      return { alerts: page.map(parse), next: rows.length > q.limit ? page[page.length - 1]!.n : null };
    },
    changedSince(since, dongs, limit) {
      const params: unknown[] = [since];
      const sql = `SELECT n, body FROM alerts ${where({ dongs }, ['seq > ?'], params)} ORDER BY seq LIMIT ?`;
      return db.prepare<unknown[], AlertRow>(sql).all(...params, limit).map(parse);
    },
    lastSeq: () => seq,
    loadActivity: () =>
      (db.prepare('SELECT resident_id, last_activity_at, missed_fired_for FROM activity').all() as {
        resident_id: string; last_activity_at: number; missed_fired_for: number | null;
      }[]).map((r) => ({ residentId: r.resident_id, lastActivityAt: r.last_activity_at, missedFiredFor: r.missed_fired_for })),
    saveActivity: (rows) => saveActivityTx(rows),
    close: () => db.close(),
  };
}
