import { performance } from 'node:perf_hooks';

// Log-spaced buckets 1 % apart from 10 µs: percentiles within 1 % in fixed memory,
// however long a run lasts (a sorted array of every sample would grow without bound).
const MIN_MS = 0.01;
const GROWTH = 1.01;
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(GROWTH)) + 1;

/** Publish → PUBACK latencies. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH)));
    this.counts[index]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The latency at quantile q (0–1): the upper edge of the bucket holding it, never above the largest sample. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, MIN_MS * GROWTH ** i);
    }
    return this.max;
  }
}

/** A message on a device's errors topic (CONTRACT §2). */
export interface DeviceError {
  error: string;
  message: string;
  index?: number;
}

export type Phase = 'provisioning' | 'connecting' | 'running' | 'draining' | 'closing' | 'done';

/** Live counters of a run; the progress line reads them, the summary is made from them. */
export class RunStats {
  phase: Phase = 'connecting';
  /** performance.now() when the messages started and stopped. */
  runStartedAt: number | undefined;
  runEndedAt: number | undefined;
  /** performance.now() of the latest PUBACK: acknowledgements go on while the run drains. */
  lastAckAt: number | undefined;
  homes = 0;
  devices = 0;
  connected = 0;
  connectFailures = 0;
  /** Connections the platform closed (or lost) that the plan did not ask for. */
  disconnects = 0;
  /** QoS 1 publishes sent, not counting the ones the plan expects to be refused. */
  sent = 0;
  acked = 0;
  /** Publishes mqtt.js gave up on (connection closed with the message outstanding). */
  publishErrors = 0;
  /** Publishes the plan expected the platform to refuse, and it did. */
  refused = 0;
  /** Planned messages not sent because their device was not connected. */
  skipped = 0;
  /** Messages received on the devices' errors topics, by code. */
  readonly errorsReceived: Record<string, number> = {};
  readonly latency = new LatencyHistogram();

  /** A PUBACK for a publish sent at `sentAt` (performance.now()). */
  ack(sentAt: number): void {
    const now = performance.now();
    this.acked++;
    this.lastAckAt = now;
    this.latency.record(now - sentAt);
  }

  get inFlight(): number {
    return this.sent - this.acked - this.publishErrors;
  }

  get errorMessages(): number {
    return Object.values(this.errorsReceived).reduce((a, b) => a + b, 0);
  }

  /** Everything that went wrong, for the progress line. */
  get errors(): number {
    return this.errorMessages + this.publishErrors + this.connectFailures + this.disconnects;
  }

  runSeconds(now = performance.now()): number {
    return this.runStartedAt === undefined ? 0 : ((this.runEndedAt ?? now) - this.runStartedAt) / 1000;
  }

  /** PUBACKs per second from the start of the run to the last of them. */
  ackRate(): number {
    if (this.runStartedAt === undefined || this.lastAckAt === undefined) return 0;
    return this.acked / Math.max(0.001, (this.lastAckAt - this.runStartedAt) / 1000);
  }
}

/** Reads and counts a message from a device's errors topic. */
export function countDeviceError(stats: RunStats, payload: Buffer): DeviceError {
  let error: DeviceError;
  try {
    error = JSON.parse(payload.toString('utf8')) as DeviceError;
  } catch {
    error = { error: 'unparsable', message: payload.toString('utf8').slice(0, 200) };
  }
  stats.errorsReceived[error.error] = (stats.errorsReceived[error.error] ?? 0) + 1;
  return error;
}

/** Waits until every sent message has its PUBACK (or its error), or `ms` have passed. */
export async function drainPubacks(stats: RunStats, ms: number): Promise<void> {
  stats.phase = 'draining';
  const until = performance.now() + ms;
  while (stats.inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
}
