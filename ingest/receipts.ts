import { hash } from 'node:crypto';

/** A receipt time remembered for one QoS 1 message, so its redelivery yields the same points. */
export interface Receipt {
  key: string; // device and MQTT packet id
  digest: string; // of the payload
  at: number;
}

/**
 * A QoS 1 redelivery (MQTT-4.3.2) carries the same packet id and payload;
 * mqtt.js does not set DUP on resends, so DUP is not part of the identity.
 */
export const receiptKey = (deviceId: string, messageId: number) => `${deviceId}\n${messageId}`;
export const payloadDigest = (payload: Buffer) => hash('sha1', payload, 'base64');

/**
 * Receipt times of recent messages whose readings had no `ts` (so their points
 * are stamped with the time of receipt). A packet id is reused only after
 * 65,536 messages; at the device rate limit (50/s) that takes ≥ 21 min, so
 * within the default 10-minute window the same id and payload is a redelivery,
 * never a new reading. Keyed by device and packet id, so the payload is hashed
 * only when that pair was seen (hashing every QoS 1 payload cost 1 % of the
 * platform's CPU in the batch mix). A ring of `capacity` slots decides which
 * receipt goes when a new one comes: evicting the Map's oldest key by iterating
 * it walked the deleted entries before it, 12 % of the CPU in the broker bench.
 */
export class ReceiptTimes {
  private readonly entries = new Map<string, { digest: string; at: number; slot: number }>();
  private readonly ring: (string | undefined)[];
  private nextSlot = 0;

  constructor(
    capacity: number,
    private readonly ttlMs: number,
  ) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** The first receipt time of this delivery, if it is a redelivery within the window. */
  firstReceipt(key: string, payload: Buffer, now: number): number | undefined {
    const entry = this.entries.get(key);
    if (!entry || now - entry.at > this.ttlMs) return undefined;
    return entry.digest === payloadDigest(payload) ? entry.at : undefined;
  }

  set(receipt: Receipt): void {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % this.ring.length;
    const evicted = this.ring[slot];
    // A key set again since holds a newer slot, and stays.
    if (evicted !== undefined && this.entries.get(evicted)?.slot === slot) this.entries.delete(evicted);
    this.ring[slot] = receipt.key;
    this.entries.set(receipt.key, { digest: receipt.digest, at: receipt.at, slot });
  }

  get size(): number {
    return this.entries.size;
  }
}
