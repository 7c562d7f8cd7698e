import { hash } from 'node:crypto';
import type { Db } from '../core/sqlite.js';

/** A receipt time remembered for one QoS 1 message, so its redelivery yields the same points. */
export interface Receipt {
  deviceId: string;
  messageId: number; // the MQTT packet id
  digest: string; // of the payload
  at: number;
}

/** A QoS 1 redelivery (MQTT-4.3.2) carries the same packet id and payload; mqtt.js does not set DUP on resends, so DUP is not part of the identity. */
export const payloadDigest = (payload: Buffer) => hash('sha1', payload, 'base64');

interface Entry {
  digest: string;
  at: number;
  slot: number;
}

/**
 * Receipt times of recent messages whose readings had no `ts` (so their points
 * are stamped with the time of receipt). A packet id is reused only after
 * 65,536 messages; at the device rate limit (50/s) that takes ≥ 21 min, so
 * within the default 10-minute window the same id and payload is a redelivery,
 * never a new reading. Keyed by device, then packet id (no key string to build
 * and hash per message), so the payload is hashed only when that pair was seen
 * (hashing every QoS 1 payload cost 1 % of the platform's CPU in the batch mix).
 * A ring of `capacity` slots decides which receipt goes when a new one comes:
 * evicting the oldest key of a Map by iterating it walked the deleted entries
 * before it, 12 % of the CPU in the broker bench.
 */
export class ReceiptTimes {
  private readonly byDevice = new Map<string, Map<number, Entry>>();
  private readonly ringDevices: (string | undefined)[];
  private readonly ringMessageIds: Int32Array;
  private nextSlot = 0;
  private count = 0;

  constructor(
    capacity: number,
    private readonly ttlMs: number,
  ) {
    this.ringDevices = new Array<string | undefined>(capacity);
    this.ringMessageIds = new Int32Array(capacity);
  }

  /** The first receipt time of this delivery, if it is a redelivery within the window. */
  firstReceipt(deviceId: string, messageId: number, payload: Buffer, now: number): number | undefined {
    const entry = this.byDevice.get(deviceId)?.get(messageId);
    if (!entry || now - entry.at > this.ttlMs) return undefined;
    return entry.digest === payloadDigest(payload) ? entry.at : undefined;
  }

  set(receipt: Receipt): void {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % this.ringDevices.length;
    const evictedDevice = this.ringDevices[slot];
    if (evictedDevice !== undefined) this.forget(evictedDevice, this.ringMessageIds[slot]!, slot);
    this.ringDevices[slot] = receipt.deviceId;
    this.ringMessageIds[slot] = receipt.messageId;
    let messages = this.byDevice.get(receipt.deviceId);
    if (!messages) this.byDevice.set(receipt.deviceId, (messages = new Map()));
    if (!messages.has(receipt.messageId)) this.count++;
    messages.set(receipt.messageId, { digest: receipt.digest, at: receipt.at, slot });
  }

  /** Drops the receipt in `slot`, unless its pair was set again since (it holds a newer slot then). */
  private forget(deviceId: string, messageId: number, slot: number): void {
    const messages = this.byDevice.get(deviceId);
    if (messages?.get(messageId)?.slot !== slot) return;
    messages.delete(messageId);
    this.count--;
    if (messages.size === 0) this.byDevice.delete(deviceId);
  }

  get size(): number {
    return this.count;
  }
}

type ReceiptTuple = [deviceId: string, messageId: number, digest: string, at: number];

/**
 * The receipt times on disk, in the outbox's database and inside its commits:
 * one row per commit holding that commit's receipts (a second insert per
 * message was ~8 % of the CPU in the broker bench), the oldest rows deleted
 * once at least `kept` newer receipts remain.
 */
export class ReceiptLog {
  private groups: { id: number; n: number }[] = []; // oldest first
  private count = 0;
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly kept: number,
  ) {
    db.exec('CREATE TABLE IF NOT EXISTS receipt_groups (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, body TEXT NOT NULL)');
    this.q = {
      put: db.prepare('INSERT INTO receipt_groups (n, body) VALUES (?, ?)'),
      dropThrough: db.prepare('DELETE FROM receipt_groups WHERE id <= ?'),
    };
    this.migrateRing();
    this.reload();
  }

  /** Call inside the transaction that stores the readings the receipts belong to. */
  keep(receipts: readonly Receipt[]): void {
    const body: ReceiptTuple[] = receipts.map((r) => [r.deviceId, r.messageId, r.digest, r.at]);
    const { lastInsertRowid } = this.q.put.run(receipts.length, JSON.stringify(body));
    this.groups.push({ id: Number(lastInsertRowid), n: receipts.length });
    this.count += receipts.length;
    let dropThrough = 0;
    while (this.count - this.groups[0]!.n >= this.kept) {
      const oldest = this.groups.shift()!;
      this.count -= oldest.n;
      dropThrough = oldest.id;
    }
    if (dropThrough > 0) this.q.dropThrough.run(dropThrough);
  }

  /** Re-reads what is on disk (after a rolled-back transaction). */
  reload(): void {
    this.groups = this.db.prepare<[], { id: number; n: number }>('SELECT id, n FROM receipt_groups ORDER BY id').all();
    this.count = this.groups.reduce((sum, g) => sum + g.n, 0);
  }

  /** Every receipt on disk, oldest first. */
  all(): Receipt[] {
    return this.db.prepare<[], { body: string }>('SELECT body FROM receipt_groups ORDER BY id').all().flatMap(({ body }) =>
      (JSON.parse(body) as ReceiptTuple[]).map(([deviceId, messageId, digest, at]) => ({ deviceId, messageId, digest, at })));
  }

  /** The first ring table (one row per receipt, key `device\npacket id`) becomes one group. */
  private migrateRing(): void {
    const legacy = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'receipts'").get();
    if (!legacy) return;
    this.db.transaction(() => {
      const rows = this.db.prepare<[], { key: string; digest: string; at: number }>('SELECT key, digest, at FROM receipts ORDER BY at').all();
      const body: ReceiptTuple[] = rows.map(({ key, digest, at }) => {
        const cut = key.lastIndexOf('\n');
        return [key.slice(0, cut), Number(key.slice(cut + 1)), digest, at];
      });
      if (body.length > 0) this.q.put.run(body.length, JSON.stringify(body));
      this.db.exec('DROP TABLE receipts');
    })();
  }
}
