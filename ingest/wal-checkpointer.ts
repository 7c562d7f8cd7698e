import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from '../core/sqlite.js';

/** What SQLite's own autocheckpoint would wait for: 1000 pages of 4 KiB. */
const CHECKPOINT_EVERY_BYTES = 4 * 1024 * 1024;

// The worker's code, inline so it runs the same from TypeScript sources (tests) and from dist/.
// better-sqlite3 is made for worker threads: each thread opens its own connection.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, busy: result.busy, log: result.log, checkpointed: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err.message });
  }
});
`;

/** SQLite's answer to `wal_checkpoint(PASSIVE)`, in pages. */
export interface CheckpointResult { busy: number; log: number; checkpointed: number }
type CheckpointReply = ({ ok: true } & CheckpointResult) | { ok: false; error: string };

export interface CheckpointerEvents {
  /** A checkpoint failed, or the worker did and the connection checkpoints itself again. */
  onError?: (message: string) => void;
  /** A checkpoint ran (the next one may start). */
  onCheckpoint?: (result: CheckpointResult) => void;
}

/**
 * Checkpoints the outbox's WAL (copies committed pages into the database file, so the
 * WAL can start over) on a worker thread with its own connection, instead of inside
 * a commit on the event loop: there it took ~20 % of the outbox's CPU and a few ms of
 * fsync every ~4 MB appended, while every device waited for its PUBACK.
 *
 * A checkpoint never decides durability (the WAL is fsynced before PUBACK); a missed
 * one only lets the WAL grow. If the worker fails, the connection checkpoints itself
 * again as SQLite does by default, and `events.onError` says why.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private appendedBytes = 0;
  private running = false;
  private stopped = false; // closed, or fallen back to SQLite's own checkpoints
  private readonly exited: Promise<void>;

  constructor(
    file: string,
    private readonly db: Db,
    private readonly events: CheckpointerEvents = {},
    private readonly everyBytes = CHECKPOINT_EVERY_BYTES,
  ) {
    db.pragma('wal_autocheckpoint = 0');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    this.worker.unref(); // never what keeps the process alive
    this.worker.on('message', (reply: CheckpointReply) => {
      this.running = false;
      if (reply.ok) this.events.onCheckpoint?.({ busy: reply.busy, log: reply.log, checkpointed: reply.checkpointed });
      else this.events.onError?.(`WAL checkpoint failed: ${reply.error}`);
    });
    this.worker.on('error', (err) => this.fallBack(`WAL checkpoint worker failed: ${err.message}`));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.stopped) this.fallBack(`WAL checkpoint worker exited (${code})`);
        resolve();
      });
    });
  }

  /** A commit appended about `bytes` to the WAL: checkpoint once enough has gathered and none is running. */
  appended(bytes: number): void {
    this.appendedBytes += bytes;
    if (this.appendedBytes < this.everyBytes || this.running || this.stopped) return;
    this.appendedBytes = 0;
    this.running = true;
    this.worker.postMessage('checkpoint');
  }

  private fallBack(message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.events.onError?.(`${message}; the outbox checkpoints on its own connection again`);
    this.db.pragma('wal_autocheckpoint = 1000');
  }

  /**
   * Stops the worker and resolves once its connection is closed, so that the main
   * connection closes last: the last connection checkpoints what is left and removes
   * the WAL, and no file of the outbox changes after the outbox says it is closed.
   */
  async close(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.worker.postMessage('close');
    }
    await this.exited;
  }
}
