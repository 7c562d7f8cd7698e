import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { MAX_BATCH_READINGS, parseReadingsPayload, type ValidReading } from '../core/schemas/readings.js';
import { openDb, type Db } from '../core/sqlite.js';
import type { DeviceIdentity } from './index.js';
import { readingLines, releaseBlock } from './line-protocol.js';
import { packReadings, unpackReadings } from './reading-codec.js';
import { ReceiptLog, type Receipt } from './receipts.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** One accepted message: its good readings, validated, with their line protocol. */
export interface OutboxEntry {
  device: DeviceIdentity;
  at: number; // receipt time, epoch ms: the `now` the payload was validated with
  readings: readonly ValidReading[];
  lines: Buffer; // the readings as line protocol, each line ending in `\n`
  receipt: Receipt | undefined; // kept so a redelivery after a restart gets the same receipt time
}

/** What the writer sends: rows in id order; a row's readings have ids `id … id + n - 1`. */
export interface OutboxRow {
  id: number;
  n: number;
  lines: Buffer;
}

/** What a replay republishes. */
export interface StoredMessage {
  id: number;
  n: number;
  at: number;
  device: DeviceIdentity;
  readings: ValidReading[];
}

export interface OutboxOptions {
  /** Readings whose line protocol stays in memory for the writer; beyond it the writer reads them back from disk. */
  memoryReadings: number;
  /** At least how many of the newest receipt times of redeliverable messages are kept on disk. */
  receiptsKept: number;
  /** The longest an append waits for room in the line budget while the writer drains (see `holdWhenFull`). */
  holdMs: number;
}

export interface OutboxEvents {
  /** An append has to wait for room (a metric for operators: PUBACKs slowed by the writer). */
  onWait?: () => void;
  /** The WAL checkpoints could not run on their worker thread (see WalCheckpointer). */
  onCheckpointError?: (message: string) => void;
}

interface PendingAppend {
  id: number;
  entry: OutboxEntry;
  packed: Buffer; // the readings as the row stores them
  heldUntil: number; // epoch ms; only for an append waiting for room
  resolve(id: number): void;
  reject(err: Error): void;
}

interface DiskRow {
  id: number;
  n: number;
  at: number;
  device: string;
  resident: string;
  dong: string;
  readings: string | null;
  lines: string | null;
  payload: Buffer | null;
  packed: Buffer | null;
}

const DELETE_DELAY_MS = 200;
// For the checkpointer's count of bytes appended to the WAL: a row's ids, times and tags
// besides its readings; a commit writes at least one page, deletes included.
const ROW_OVERHEAD_BYTES = 64;
const PAGE_BYTES = 4096;
const PROBE_INTERVAL_MS = 1000;
const PROBE_BYTES = 64 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_rows (
  id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at INTEGER NOT NULL,
  device TEXT NOT NULL, resident TEXT NOT NULL, dong TEXT NOT NULL,
  readings TEXT, -- rows of the second outbox: JSON [{type, ts, fields}] as validated
  lines TEXT, -- rows moved from the first outbox (line protocol, no readings)
  payload BLOB, -- rows of the third: the message as received, validated again with \`at\` when read back
  packed BLOB); -- the validated readings, packed against \`at\` (ingest/reading-codec.ts)
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * Readings that got (or are about to get) PUBACK, kept until InfluxDB has them
 * and the alerts engine has made their effects durable.
 *
 * - Every reading has an id (its `outboxId`); one row holds the readings of one
 *   message (ids `id … id + n - 1`), so a 100-reading batch is one insert, not 100.
 *   The next id is kept in `outbox_meta`, so ids never go back even when the
 *   outbox is empty.
 * - Appends from every client during one event-loop turn share one SQLite
 *   transaction (group commit): one fsync for many messages. The fsync of the
 *   WAL runs on libuv's thread pool, not inside the commit (synchronous=FULL
 *   blocked the event loop ~11 % of the time in the batch mix); appends that
 *   arrive meanwhile make the next group. An append resolves only after it.
 * - Rows store the validated readings packed (ingest/reading-codec.ts: 8 bytes
 *   for a heart_rate reading, against ~49 of JSON in the payload), so reading a
 *   row back (replay to the alerts engine, line protocol after a restart) gives
 *   the same readings. Every byte committed is written to the WAL, synced and
 *   checkpointed: storing the payload as received cost ~0.06 µs a reading more
 *   in the batch mix, and JSON.stringify of the readings 8 % of the platform's
 *   CPU (docs/decisions.md, "Ingest hot path, sixth pass").
 * - The line protocol of recent rows stays in memory (up to `memoryReadings`),
 *   so the writer normally never reads the disk; while InfluxDB takes writes,
 *   appends wait for room rather than overflow it (see `holdWhenFull`).
 */
export class Outbox {
  private readonly db: Db;
  private pending: PendingAppend[] = [];
  private unsettledReadings = 0; // pending or syncing: in memory once settled
  private commitScheduled = false;
  private syncing: PendingAppend[] | undefined; // committed, waiting for the WAL to reach the disk
  private wal: number | undefined;
  // Appends waiting for room in the line budget, oldest first; all have ids above the pending ones.
  private waiting: PendingAppend[] = [];
  private holding = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private holdTimerFor: PendingAppend | undefined;
  private nextId: number;
  private readonly receiptLog: ReceiptLog;
  private unwritten: number;
  private held: number;
  // Line protocol of committed rows not yet in InfluxDB; every row with id ≥ memoryFloor is here.
  private memory: OutboxRow[] = [];
  private memoryHead = 0;
  private memoryReadings = 0;
  private memoryFloor: number;
  private readonly listeners = new Set<() => void>();
  private readonly q;
  private deletePendingId = 0; // rows through this id may go
  private deleteThroughId = 0; // rows through this id are gone
  private deleteTimer: NodeJS.Timeout | undefined;
  private closed = false;
  // The last append that could not be kept (disk full, read-only): the store counts as not writable until a write succeeds.
  private appendFailure: { at: number; error: string } | undefined;
  private lastProbeAt = 0;
  private readonly checkpointer: WalCheckpointer;

  constructor(
    private readonly file: string,
    private readonly options: OutboxOptions,
    private readonly events: OutboxEvents = {},
  ) {
    this.db = openDb(file, { syncEachCommit: false });
    this.db.exec(SCHEMA);
    addColumn(this.db, 'payload');
    addColumn(this.db, 'packed');
    migrateLineOutbox(this.db);
    this.receiptLog = new ReceiptLog(this.db, options.receiptsKept);
    this.checkpointer = new WalCheckpointer(file, this.db, { onError: events.onCheckpointError });
    this.q = {
      insert: this.db.prepare('INSERT INTO outbox_rows (id, n, at, device, resident, dong, packed) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      setNextId: this.db.prepare("INSERT INTO outbox_meta (key, value) VALUES ('next_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      rowsBetween: this.db.prepare<[number, number, number], DiskRow>(
        'SELECT * FROM outbox_rows WHERE id > ? AND id < ? ORDER BY id LIMIT ?',
      ),
      // A row holds at most MAX_BATCH_READINGS readings, so a row reaching past `afterId` starts after afterId - MAX_BATCH_READINGS.
      rowsReachingPast: this.db.prepare<[number, number, number], DiskRow>(
        'SELECT * FROM outbox_rows WHERE id > ? AND id + n - 1 > ? ORDER BY id LIMIT ?',
      ),
      // Counted, then deleted: DELETE … RETURNING made one object per row.
      readingsThrough: this.db.prepare<[number, number], { readings: number | null }>('SELECT SUM(n) AS readings FROM outbox_rows WHERE id <= ? AND id + n - 1 <= ?'),
      deleteThrough: this.db.prepare<[number, number]>('DELETE FROM outbox_rows WHERE id <= ? AND id + n - 1 <= ?'),
      firstAfter: this.db.prepare<[number], { at: number }>('SELECT at FROM outbox_rows WHERE id > ? ORDER BY id LIMIT 1'),
    };
    const meta = this.db.prepare<[], { value: number }>("SELECT value FROM outbox_meta WHERE key = 'next_id'").get();
    const stats = this.db.prepare<[], { end: number | null; readings: number | null }>('SELECT MAX(id + n) AS end, SUM(n) AS readings FROM outbox_rows').get()!;
    this.nextId = Math.max(1, meta?.value ?? 1, stats.end ?? 1);
    this.memoryFloor = this.nextId;
    this.unwritten = stats.readings ?? 0;
    this.held = this.unwritten;
  }

  /** Resolves with the id of the first reading once the entry is on disk; rejects if it cannot be kept (disk full, read-only). */
  append(entry: OutboxEntry): Promise<number> {
    return new Promise((resolve, reject) => {
      const id = this.nextId;
      this.nextId += entry.readings.length;
      // Packed now, while the readings just parsed are in the CPU's caches: at commit time it cost twice as much.
      const packed = Buffer.from(packReadings(entry.at, entry.readings));
      const append: PendingAppend = { id, entry, packed, heldUntil: 0, resolve, reject };
      if (this.holding && (this.waiting.length > 0 || !this.hasRoomFor(entry.readings.length))) {
        append.heldUntil = Date.now() + this.options.holdMs;
        this.waiting.push(append);
        this.events.onWait?.();
        this.armHoldTimer();
      } else {
        this.enqueue(append);
      }
    });
  }

  /**
   * While the writer drains to a reachable InfluxDB, an append that would push the
   * lines in memory past `memoryReadings` waits (FIFO, at most `holdMs`) for the
   * writer to catch up. Otherwise the accept path, on the same thread, runs ahead
   * of the writer, the oldest lines are dropped from memory and then read back from
   * disk and rebuilt: 4–10 % of the platform's CPU in the batch mix. The wait only
   * delays PUBACK, which slows devices to what InfluxDB takes. While InfluxDB is
   * away, or rows wait on disk already (after an outage), nothing waits.
   */
  holdWhenFull(hold: boolean): void {
    this.holding = hold;
    this.releaseWaiting();
  }

  /** Room in the line budget, or no point waiting for it: rows are on disk already, so the writer reads the disk anyway. */
  private hasRoomFor(readings: number): boolean {
    return this.memoryReadings + this.unsettledReadings + readings <= this.options.memoryReadings || this.unwritten > this.memoryReadings;
  }

  private enqueue(append: PendingAppend): void {
    this.pending.push(append);
    this.unsettledReadings += append.entry.readings.length;
    this.scheduleCommit();
  }

  /** Lets waiting appends through, in order, while they fit, their wait is over, or holding stopped. */
  private releaseWaiting(): void {
    const now = Date.now();
    let released = 0;
    while (released < this.waiting.length) {
      const head = this.waiting[released]!;
      if (this.holding && !this.closed && head.heldUntil > now && !this.hasRoomFor(head.entry.readings.length)) break;
      this.enqueue(head);
      released++;
    }
    if (released > 0) this.waiting.splice(0, released);
    this.armHoldTimer();
  }

  /** One timer, for the oldest waiting append (the others wait longer). */
  private armHoldTimer(): void {
    const head = this.waiting[0];
    if (head === this.holdTimerFor) return;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.holdTimerFor = head;
    if (!head) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      this.holdTimerFor = undefined;
      this.releaseWaiting();
    }, Math.max(0, head.heldUntil - Date.now()));
  }

  /** Writes the pending appends and the due delete in one transaction, then settles the appends once the WAL is on disk. */
  private commit(): void {
    this.commitScheduled = false;
    if (this.closed || this.syncing) return; // the sync's end commits what came meanwhile
    const group = this.writeGroup();
    if (!group) return; // nothing appended: a delete needs no sync (one lost in a crash only re-sends rows)
    this.syncing = group;
    fsync(this.walFd(), (err) => {
      if (this.syncing !== group) return; // close() settled it
      this.syncing = undefined;
      this.settle(group, err ?? undefined);
      if (this.pending.length > 0 || this.deletePendingId > this.deleteThroughId) this.scheduleCommit();
    });
  }

  private scheduleCommit(): void {
    if (this.commitScheduled || this.syncing) return;
    this.commitScheduled = true;
    setImmediate(() => this.commit());
  }

  /** The transaction; returns the appends it wrote (rejected at once when it failed). */
  private writeGroup(): PendingAppend[] | undefined {
    const group = this.pending;
    this.pending = [];
    const { insert, setNextId } = this.q;
    let removed = 0;
    let bytes = PAGE_BYTES;
    try {
      this.db.transaction(() => {
        const receipts: Receipt[] = [];
        for (const p of group) {
          const { device, at, readings, receipt } = p.entry;
          insert.run(p.id, readings.length, at, device.deviceId, device.residentId, device.dong, p.packed);
          bytes += p.packed.length + ROW_OVERHEAD_BYTES;
          if (receipt) receipts.push(receipt);
        }
        if (receipts.length > 0) this.receiptLog.keep(receipts);
        if (group.length > 0) setNextId.run(this.nextId);
        removed = this.runDelete();
      })();
    } catch (err) {
      if (group.length > 0) this.appendFailure = { at: Date.now(), error: (err as Error).message };
      this.receiptLog.reload(); // the rolled-back transaction may have counted some
      for (const p of group) {
        this.unsettledReadings -= p.entry.readings.length;
        releaseBlock(p.entry.lines); // never remembered: this was its one hold
        p.reject(err as Error);
      }
      return undefined;
    }
    this.held -= removed;
    this.deleteThroughId = Math.max(this.deleteThroughId, this.deletePendingId);
    this.checkpointer.appended(bytes);
    return group.length > 0 ? group : undefined;
  }

  /**
   * Committed and synced: the rows go to the writer and the appends resolve. A failed
   * sync rejects them (no PUBACK, the device sends again) though SQLite has the rows:
   * they still reach InfluxDB, where the resent readings are the same points.
   */
  private settle(group: PendingAppend[], syncError?: Error): void {
    if (syncError) this.appendFailure = { at: Date.now(), error: `fsync: ${syncError.message}` };
    else this.appendFailure = undefined;
    for (const p of group) {
      const n = p.entry.readings.length;
      this.unsettledReadings -= n;
      this.unwritten += n;
      this.held += n;
      this.remember({ id: p.id, n, lines: p.entry.lines });
      if (syncError) p.reject(syncError);
      else p.resolve(p.id);
    }
    for (const listener of this.listeners) listener();
  }

  /** The WAL, opened once it exists (the first commit creates it); fsync works on the file whatever fd wrote it. */
  private walFd(): number {
    this.wal ??= openSync(`${this.file}-wal`, 'r+');
    return this.wal;
  }

  private remember(row: OutboxRow): void {
    this.memory.push(row);
    this.memoryReadings += row.n;
    // An outage must not hold every reading twice (disk and heap): beyond the
    // budget the oldest rows are read back from disk when InfluxDB returns.
    while (this.memoryReadings > this.options.memoryReadings && this.memoryHead < this.memory.length) {
      this.forgetOldest();
      this.memoryFloor = this.memory[this.memoryHead]?.id ?? this.nextId;
    }
    this.compactMemory();
  }

  /** The oldest row in memory leaves it (the only way one does), giving back its lines' hold once. */
  private forgetOldest(): void {
    const row = this.memory[this.memoryHead++]!;
    this.memoryReadings -= row.n;
    releaseBlock(row.lines);
  }

  private compactMemory(): void {
    if (this.memoryHead > 1024 && this.memoryHead * 2 > this.memory.length) {
      this.memory = this.memory.slice(this.memoryHead);
      this.memoryHead = 0;
    }
  }

  /** Rows after reading id `afterId`, in order, until they hold at least `minReadings` readings (or none are left). */
  read(afterId: number, minReadings: number): OutboxRow[] {
    const rows: OutboxRow[] = [];
    let readings = 0;
    let cursor = afterId;
    while (readings < minReadings && cursor + 1 < this.memoryFloor) {
      const disk = this.q.rowsBetween.all(cursor, this.memoryFloor, 500);
      if (disk.length === 0) break;
      for (const row of disk) {
        rows.push({ id: row.id, n: row.n, lines: row.lines !== null ? Buffer.from(`${row.lines}\n`) : readingLines(identityOf(row), storedReadings(row)) });
        readings += row.n;
        cursor = row.id + row.n - 1;
        if (readings >= minReadings) return rows;
      }
    }
    for (let i = this.firstInMemoryAfter(cursor); i < this.memory.length && readings < minReadings; i++) {
      const row = this.memory[i]!;
      rows.push(row);
      readings += row.n;
    }
    return rows;
  }

  private firstInMemoryAfter(afterId: number): number {
    let lo = this.memoryHead;
    let hi = this.memory.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.memory[mid]!.id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** InfluxDB acknowledged every reading with an id ≤ `throughId` (`readings` of them since the last call). */
  markWritten(throughId: number, readings: number): void {
    this.unwritten -= readings;
    while (this.memoryHead < this.memory.length && this.memory[this.memoryHead]!.id <= throughId) this.forgetOldest();
    if (this.memoryHead === this.memory.length) {
      this.memory = [];
      this.memoryHead = 0;
    }
    this.compactMemory();
    if (this.waiting.length > 0) this.releaseWaiting();
  }

  /**
   * Deletes the rows whose readings all have ids ≤ `throughId` (in InfluxDB and durable for the
   * alerts engine). The delete rides in the next group commit, or runs on its own within
   * DELETE_DELAY_MS when nothing arrives: a delete of its own cost an fsync each time InfluxDB
   * acknowledged a batch, 5 % of the platform's CPU in the batch mix (bench/ingest.ts profile).
   * A delete lost in a crash only means those rows are sent to InfluxDB again.
   */
  deleteThrough(throughId: number): void {
    if (throughId <= this.deletePendingId) return;
    this.deletePendingId = throughId;
    if (!this.commitScheduled && !this.syncing && !this.deleteTimer) {
      this.deleteTimer = setTimeout(() => {
        this.deleteTimer = undefined;
        this.scheduleCommit();
      }, DELETE_DELAY_MS);
      this.deleteTimer.unref();
    }
  }

  private runDelete(): number {
    if (this.deletePendingId <= this.deleteThroughId) return 0;
    const removed = this.q.readingsThrough.get(this.deletePendingId, this.deletePendingId)?.readings ?? 0;
    if (removed > 0) this.q.deleteThrough.run(this.deletePendingId, this.deletePendingId);
    return removed;
  }

  /** Stored messages with readings after `afterId`, in id order (for replay). */
  messagesAfter(afterId: number, limit: number): StoredMessage[] {
    return this.q.rowsReachingPast.all(afterId - MAX_BATCH_READINGS, afterId, limit).map((row) => ({
      id: row.id,
      n: row.n,
      at: row.at,
      device: identityOf(row),
      readings: storedReadings(row),
    }));
  }

  /** Receipt times kept on disk (newest last), to seed the in-memory window after a restart. */
  receipts(): Receipt[] {
    return this.receiptLog.all();
  }

  /** Readings durable but not yet acknowledged by InfluxDB. */
  backlog(): number {
    return this.unwritten;
  }

  /** Readings still on disk: not yet in InfluxDB, or not yet durable for the alerts engine. */
  heldReadings(): number {
    return this.held;
  }

  /** Receipt time of the oldest reading after `writtenThrough`, if any. */
  oldestAfter(writtenThrough: number): number | undefined {
    if (this.unwritten === 0) return undefined;
    return this.q.firstAfter.get(writtenThrough)?.at;
  }

  /** The id the next reading will get. */
  peekNextId(): number {
    return this.nextId;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether the store takes data, and why not (for /healthz). `BEGIN IMMEDIATE; ROLLBACK`
   * needs no disk space, so after an append has failed the store stays not writable
   * until an append succeeds or a probe write (a committed row of PROBE_BYTES, at most
   * once a second) does.
   */
  writable(): { ok: boolean; error?: string } {
    try {
      this.db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const failure = this.appendFailure;
    if (!failure) return { ok: true };
    const now = Date.now();
    if (now - this.lastProbeAt >= PROBE_INTERVAL_MS) {
      this.lastProbeAt = now;
      try {
        // Two commits: the blob has to reach the log, not cancel out inside one transaction.
        this.db.prepare("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('write_probe', ?)").run(Buffer.alloc(PROBE_BYTES));
        this.db.prepare("DELETE FROM outbox_meta WHERE key = 'write_probe'").run();
        if (this.appendFailure === failure) this.appendFailure = undefined;
        return { ok: true };
      } catch {
        // still failing: report the append's error
      }
    }
    return { ok: false, error: `${failure.error} (append failed at ${new Date(failure.at).toISOString()})` };
  }

  /** Settles every append; resolves once the outbox's files are closed and no longer change. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    this.holding = false;
    this.releaseWaiting();
    // Pending and waiting appends and the last delete, synced here: no callback runs after close.
    const syncing = this.syncing;
    this.syncing = undefined;
    const group = this.writeGroup();
    let syncError: Error | undefined;
    try {
      if (group || syncing) fsyncSync(this.walFd());
    } catch (err) {
      syncError = err as Error;
    }
    if (syncing) this.settle(syncing, syncError);
    if (group) this.settle(group, syncError);
    this.closed = true;
    if (this.wal !== undefined) closeSync(this.wal);
    await this.checkpointer.close();
    this.db.close();
  }
}

/**
 * The first outbox kept one line of line protocol per row (`outbox(id, at, line)`).
 * Its rows move over as they are: they reach InfluxDB; having no readings, they
 * are not replayed.
 */
function migrateLineOutbox(db: Db): void {
  const legacy = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").get();
  if (!legacy) return;
  db.transaction(() => {
    db.exec(`INSERT INTO outbox_rows (id, n, at, device, resident, dong, readings, lines)
             SELECT id, 1, at, '', '', '', NULL, line FROM outbox`);
    db.exec('DROP TABLE outbox');
  })();
}

/** Outboxes made before rows had the column get it (their rows keep what they had). */
function addColumn(db: Db, name: 'payload' | 'packed'): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(outbox_rows)').all();
  if (!columns.some((c) => c.name === name)) db.exec(`ALTER TABLE outbox_rows ADD COLUMN ${name} BLOB`);
}

/** A row's readings: unpacked, validated again from the payload the third outbox kept, or as the second stored them. */
function storedReadings(row: DiskRow): ValidReading[] {
  if (row.packed !== null) return unpackReadings(row.at, row.packed);
  if (row.payload !== null) return parseReadingsPayload(row.payload, row.at).readings;
  return row.readings === null ? [] : (JSON.parse(row.readings) as ValidReading[]);
}

function identityOf(row: DiskRow): DeviceIdentity {
  return { deviceId: row.device, residentId: row.resident, dong: row.dong };
}
