import { openDb, type Db } from '../core/sqlite.js';

interface PendingAppend {
  lines: readonly string[];
  at: number;
  resolve(): void;
  reject(err: Error): void;
}

export interface OutboxBatch {
  lastId: number;
  lines: string[];
}

/**
 * Readings that got (or are about to get) PUBACK, kept until InfluxDB has them.
 * Appends from every client during one event-loop turn share one SQLite
 * transaction (group commit): one fsync for many readings.
 */
export class Outbox {
  private readonly db: Db;
  private pending: PendingAppend[] = [];
  private commitScheduled = false;
  private count: number;
  private readonly insert;
  private readonly select;
  private readonly remove;
  private readonly oldest;
  private readonly listeners = new Set<() => void>();

  constructor(file: string) {
    this.db = openDb(file);
    this.db.exec('CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, line TEXT NOT NULL)');
    this.insert = this.db.prepare('INSERT INTO outbox (at, line) VALUES (?, ?)');
    this.select = this.db.prepare<[number, number], { id: number; line: string }>('SELECT id, line FROM outbox WHERE id > ? ORDER BY id LIMIT ?');
    this.remove = this.db.prepare('DELETE FROM outbox WHERE id > ? AND id <= ?');
    this.oldest = this.db.prepare<[], { at: number }>('SELECT at FROM outbox ORDER BY id LIMIT 1');
    this.count = (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** Resolves once the lines are on disk; rejects if they cannot be kept (disk full, read-only). */
  append(lines: readonly string[], at: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ lines, at, resolve, reject });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  private commit(): void {
    const group = this.pending;
    this.pending = [];
    this.commitScheduled = false;
    try {
      this.db.transaction(() => {
        for (const p of group) for (const line of p.lines) this.insert.run(p.at, line);
      })();
    } catch (err) {
      for (const p of group) p.reject(err as Error);
      return;
    }
    for (const p of group) {
      this.count += p.lines.length;
      p.resolve();
    }
    for (const listener of this.listeners) listener();
  }

  /** The oldest lines after `afterId` (0 = from the start). */
  read(afterId: number, limit: number): OutboxBatch | undefined {
    const rows = this.select.all(afterId, limit);
    if (rows.length === 0) return undefined;
    return { lastId: rows[rows.length - 1]!.id, lines: rows.map((r) => r.line) };
  }

  /** Deletes rows in (afterId, lastId]: only after InfluxDB acknowledged them. */
  delete(afterId: number, lastId: number): void {
    this.count -= this.remove.run(afterId, lastId).changes;
  }

  backlog(): number {
    return this.count;
  }

  oldestAt(): number | undefined {
    return this.oldest.get()?.at;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A cheap write to prove the store still takes data (for /healthz). */
  writable(): boolean {
    try {
      this.db.exec('BEGIN IMMEDIATE; ROLLBACK;');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.db.close();
  }
}
