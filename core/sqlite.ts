import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * Opens a SQLite file in WAL mode; `synchronous=FULL` because PUBACK and alert
 * changes promise durability. `syncEachCommit: false` (NORMAL) is for a caller
 * that fsyncs the WAL itself after each commit, off the event loop (ingest/outbox.ts).
 */
export function openDb(file: string, options: { syncEachCommit?: boolean } = {}): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(options.syncEachCommit === false ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}
