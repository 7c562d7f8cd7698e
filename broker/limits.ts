import type { Client } from 'aedes';
import type { Clock } from '../core/clock.js';

/**
 * A token bucket per device: `ratePerSecond` messages on average, `burst` at
 * once (a gateway flushing what it buffered while offline). Keyed by device id,
 * so reconnecting does not refill it.
 */
export class DeviceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {}

  /** Takes one token; false when the device has none left. */
  take(deviceId: string): boolean {
    const now = this.clock.now();
    let bucket = this.buckets.get(deviceId);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(deviceId, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** Above this a packet is not read at all: the connection closes (MQTT 3.1.1 has no way to refuse one packet). */
export const MAX_PACKET_BYTES = 256 * 1024;

interface PacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/**
 * Closes a connection as soon as a packet header announces more than
 * `maxBytes`, before the body is buffered: without it mqtt-packet would
 * collect up to 256 MiB per connection. Payloads up to the cap are read, so a
 * 65 KiB reading still gets its `too_large` answer on the errors topic.
 * Reaches into aedes' parser (mqtt-packet 9 `_parseLength`); the broker tests
 * cover it.
 */
export function limitPacketSize(client: Client, maxBytes: number, onRefused: () => void): void {
  const parser = (client as unknown as { _parser?: PacketParser })._parser;
  if (!parser || typeof parser._parseLength !== 'function') return;
  const parseLength = parser._parseLength.bind(parser);
  parser._parseLength = () => {
    const complete = parseLength();
    if (complete && parser.packet.length > maxBytes) {
      onRefused();
      parser._emitError(new Error(`packet of ${parser.packet.length} bytes exceeds ${maxBytes}`));
      return false;
    }
    return complete;
  };
}
