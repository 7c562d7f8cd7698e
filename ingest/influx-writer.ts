import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { InfluxClient } from '../influx/client.js';
import { joinBlocks, releaseBlock, retainBlock, splitLines } from './line-protocol.js';
import type { Outbox, OutboxRow } from './outbox.js';

export interface WriterOptions {
  batchSize: number; // readings per InfluxDB request (whole outbox rows, so up to 499 more)
  inFlight: number; // concurrent requests
  minBackoffMs: number;
  maxBackoffMs: number;
  idlePingMs: number; // how often an idle writer checks that InfluxDB is still there
}

// 10,000 readings a request rather than 5,000: influxd then spent ~5 % less CPU a point in the
// gateway mix (fewer requests, WAL writes and fsyncs), within InfluxDB's advice of 5,000–10,000
// (docs/decisions.md, "Ingest hot path, sixth pass"). A request never waits to fill: what is there goes.
export const defaultWriterOptions: WriterOptions = { batchSize: 10_000, inFlight: 3, minBackoffMs: 200, maxBackoffMs: 15_000, idlePingMs: 5000 };

export interface WriterStatus {
  influxReachable: boolean;
  lastError?: string;
  lastWriteAt?: number;
}

interface Batch {
  lastId: number; // the last reading id it covers
  readings: number;
  state: 'sending' | 'written' | 'failed';
}

/** HTTP statuses after which resending the same lines can never succeed. */
const isRefusal = (err: unknown) => {
  const status = (err as { statusCode?: number }).statusCode;
  return status === 400 || status === 413 || status === 422;
};
// InfluxDB 1.x writes the good points of a batch and answers 400 "partial write" for the rest.
const isPartialWrite = (err: unknown) => /partial write/.test(String((err as { body?: string }).body ?? (err as Error).message));

/**
 * Drains the outbox to InfluxDB. A reading leaves the outbox only after InfluxDB
 * acknowledged it and the alerts engine made its effects durable
 * (`consumerCursor`); a failed request keeps everything and retries with
 * backoff, so an hour-long outage loses nothing (DESIGN §2, invariant 2).
 *
 * `written` is the in-memory marker: every reading with an id ≤ written is in
 * InfluxDB. Requests may finish out of order; the marker moves only across a
 * contiguous prefix of finished batches.
 */
export class InfluxWriter {
  private running = true;
  private wake: (() => void) | undefined;
  private readonly status: WriterStatus = { influxReachable: true };
  private readonly done: Promise<void>;
  private readonly unsubscribe: () => void;
  private readonly batches: Batch[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readCursor = 0; // the last reading id handed to a request
  private written = 0;
  private deletedThrough = 0;
  private lastPingAt = 0;
  private appended = false; // an append came while no idle sleep was waiting for one
  private stop: (() => void) | undefined;
  private backoff: number;

  constructor(
    private readonly outbox: Outbox,
    private readonly influx: InfluxClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: WriterOptions = defaultWriterOptions,
    private readonly consumerCursor: () => number = () => Number.POSITIVE_INFINITY,
  ) {
    this.backoff = options.minBackoffMs;
    this.unsubscribe = outbox.onAppend(() => {
      if (this.wake) this.wake();
      else this.appended = true;
    });
    outbox.holdWhenFull(true);
    this.done = this.loop();
  }

  /** Appends wait for room in the line budget only while InfluxDB takes writes (Outbox.holdWhenFull). */
  private setReachable(reachable: boolean): void {
    this.status.influxReachable = reachable;
    this.outbox.holdWhenFull(reachable);
  }

  getStatus(): Readonly<WriterStatus> {
    return this.status;
  }

  /** Every reading with an id ≤ this is in InfluxDB. */
  writtenThrough(): number {
    return this.written;
  }

  /** Sleeps `ms`; an append cuts an idle sleep short, never a backoff (that would hammer an absent InfluxDB). */
  private sleep(ms: number, wakeOnAppend: boolean): Promise<void> {
    if (wakeOnAppend && this.appended) {
      this.appended = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.stop = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.stop = finish;
      if (wakeOnAppend) this.wake = finish;
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const failed = this.batches.some((b) => b.state === 'failed');
      if (!failed) this.fill();
      if (this.inFlight.size > 0) {
        await Promise.race(this.inFlight);
        continue;
      }
      if (failed) {
        // Everything after the last contiguous success goes again (duplicates are the same points).
        this.batches.length = 0;
        this.readCursor = this.written;
        await this.sleep(this.backoff, false);
        this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
        continue;
      }
      this.deleteSettled();
      await this.idle(); // fill() found nothing to send
    }
    await Promise.all(this.inFlight);
  }

  /** Nothing to send: wait for an append, deleting what the alerts engine has since made durable and checking InfluxDB now and then. */
  private async idle(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPingAt >= this.options.idlePingMs) {
      this.lastPingAt = now;
      const reachable = await this.influx.ping();
      if (reachable !== this.status.influxReachable) {
        if (reachable) this.log.info('influxdb reachable again');
        else this.log.warn('influxdb does not answer /ping');
        this.setReachable(reachable);
        if (reachable) delete this.status.lastError;
        else this.status.lastError = 'influxdb does not answer /ping';
      }
      if (!this.running) return;
    }
    await this.sleep(Math.min(1000, this.options.idlePingMs), true);
  }

  /** Starts requests until `inFlight` are running or the outbox has nothing more. */
  private fill(): void {
    this.appended = false;
    while (this.running && this.inFlight.size < this.options.inFlight) {
      const rows = this.outbox.read(this.readCursor, this.options.batchSize);
      if (rows.length === 0) return;
      this.send(rows);
    }
  }

  private send(rows: OutboxRow[]): void {
    const last = rows[rows.length - 1]!;
    const batch: Batch = { lastId: last.id + last.n - 1, readings: 0, state: 'sending' };
    for (const row of rows) batch.readings += row.n;
    this.readCursor = batch.lastId;
    this.batches.push(batch);
    const blocks = rows.map((r) => r.lines);
    // The request holds its blocks until it settles (the outbox may drop its rows from memory
    // meanwhile): a refused batch is split and sent again from them (`write`), and writeLines
    // is done with a body once it settles.
    for (const block of blocks) retainBlock(block);
    const request = this.write(blocks)
      .finally(() => {
        for (const block of blocks) releaseBlock(block);
      })
      .then(() => {
        batch.state = 'written';
        this.backoff = this.options.minBackoffMs;
        this.metrics.influxWritten.inc(batch.readings);
        if (!this.status.influxReachable) this.log.info('influxdb reachable again; draining the outbox');
        this.setReachable(true);
        this.status.lastWriteAt = Date.now();
        delete this.status.lastError;
        this.advance();
      })
      .catch((err: Error) => {
        batch.state = 'failed';
        this.metrics.influxFailures.inc();
        if (this.status.influxReachable) this.log.warn({ err: err.message, backlog: this.outbox.backlog() }, 'influxdb write failed; readings stay in the outbox');
        this.setReachable(false);
        this.status.lastError = err.message;
      })
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  /**
   * One request; when InfluxDB refuses the lines themselves (400, not a
   * transient failure), halves the batch until the refused lines are found and
   * drops only those, so one bad point can never block the outbox forever.
   */
  private async write(blocks: Buffer[]): Promise<void> {
    try {
      await this.influx.writeLines(joinBlocks(blocks));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      const message = (err as Error).message;
      if (isPartialWrite(err)) {
        const dropped = Number(/dropped=(\d+)/.exec(String((err as { body?: string }).body))?.[1] ?? 1);
        this.log.error({ err: message, dropped }, 'influxdb refused some points of a batch (partial write); the rest are stored');
        this.metrics.influxRefused.inc(dropped);
        return;
      }
      const lines = blocks.flatMap(splitLines);
      if (lines.length <= 1) {
        this.log.error({ err: message, line: lines[0]?.toString('utf8', 0, 200) }, 'influxdb refused a point; dropping it');
        this.metrics.influxRefused.inc();
        return;
      }
      const half = lines.length >> 1;
      await this.write(lines.slice(0, half));
      await this.write(lines.slice(half));
    }
  }

  /** Moves `written` across the finished batches at the head, then deletes what may go. */
  private advance(): void {
    let readings = 0;
    let through = this.written;
    while (this.batches.length > 0 && this.batches[0]!.state === 'written') {
      const batch = this.batches.shift()!;
      readings += batch.readings;
      through = batch.lastId;
    }
    if (through === this.written) return;
    this.written = through;
    this.outbox.markWritten(through, readings);
    this.deleteSettled();
  }

  /** Deletes rows both in InfluxDB and at or below the alerts engine's durable cursor. */
  private deleteSettled(): void {
    try {
      const through = Math.min(this.written, this.consumerCursor());
      if (through <= this.deletedThrough) return;
      this.outbox.deleteThrough(through);
      this.deletedThrough = through;
    } catch (err) {
      // Keeping rows longer is always safe; the next pass tries again.
      this.log.error({ err: (err as Error).message }, 'could not delete delivered readings from the outbox');
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.outbox.holdWhenFull(false);
    this.unsubscribe();
    this.stop?.();
    await this.done;
  }
}
