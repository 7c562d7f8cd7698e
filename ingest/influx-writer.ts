import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { InfluxClient } from '../influx/client.js';
import type { Outbox } from './outbox.js';

export interface WriterOptions {
  batchSize: number; // lines per InfluxDB request
  inFlight: number; // concurrent requests
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultWriterOptions: WriterOptions = { batchSize: 5000, inFlight: 3, minBackoffMs: 200, maxBackoffMs: 15_000 };

export interface WriterStatus {
  influxReachable: boolean;
  lastError?: string;
  lastWriteAt?: number;
}

/**
 * Drains the outbox to InfluxDB. A batch leaves the outbox only after InfluxDB
 * acknowledged it; a failure keeps everything and retries with backoff, so an
 * hour-long outage loses nothing (DESIGN §2, invariant 2).
 */
export class InfluxWriter {
  private running = true;
  private wake: (() => void) | undefined;
  private readonly status: WriterStatus = { influxReachable: true };
  private readonly done: Promise<void>;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly outbox: Outbox,
    private readonly influx: InfluxClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: WriterOptions = defaultWriterOptions,
  ) {
    this.unsubscribe = outbox.onAppend(() => this.wake?.());
    this.done = this.loop();
  }

  getStatus(): Readonly<WriterStatus> {
    return this.status;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let backoff = this.options.minBackoffMs;
    while (this.running) {
      const failed = await this.drainOnce();
      this.updateGauges();
      if (failed) {
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      } else {
        backoff = this.options.minBackoffMs;
        if (this.outbox.backlog() === 0) await this.sleep(1000);
      }
    }
  }

  /** Sends what the outbox holds, up to `inFlight` requests at once; true if any request failed. */
  private async drainOnce(): Promise<boolean> {
    let cursor = 0;
    let failed = false;
    const inFlight = new Set<Promise<void>>();
    while (this.running && !failed) {
      const batch = this.outbox.read(cursor, this.options.batchSize);
      if (!batch) break;
      const afterId = cursor;
      cursor = batch.lastId;
      const request = this.influx
        .writeLines(batch.lines)
        .then(() => {
          this.outbox.delete(afterId, batch.lastId);
          this.metrics.influxWritten.inc(batch.lines.length);
          if (!this.status.influxReachable) this.log.info('influxdb reachable again; draining the outbox');
          this.status.influxReachable = true;
          this.status.lastWriteAt = Date.now();
          delete this.status.lastError;
        })
        .catch((err: Error) => {
          failed = true;
          this.metrics.influxFailures.inc();
          if (this.status.influxReachable) this.log.warn({ err: err.message, backlog: this.outbox.backlog() }, 'influxdb write failed; readings stay in the outbox');
          this.status.influxReachable = false;
          this.status.lastError = err.message;
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
      if (inFlight.size >= this.options.inFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return failed;
  }

  private updateGauges(): void {
    this.metrics.outboxBacklog.set(this.outbox.backlog());
    const oldest = this.outbox.oldestAt();
    this.metrics.writerLag.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
  }

  async close(): Promise<void> {
    this.running = false;
    this.unsubscribe();
    this.wake?.();
    await this.done;
  }
}
