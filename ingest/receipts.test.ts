import { describe, expect, it } from 'vitest';
import { payloadDigest, ReceiptTimes } from './receipts.js';

const payload = Buffer.from('{"type":"checkin_button"}');
const receipt = (messageId: number, at: number, body = payload) => ({ deviceId: 'd1', messageId, digest: payloadDigest(body), at });

describe('ReceiptTimes', () => {
  it('gives a redelivery (same device, packet id and payload) its first receipt time within the window', () => {
    const times = new ReceiptTimes(10, 60_000);
    times.set(receipt(7, 1000));
    expect(times.firstReceipt('d1', 7, payload, 30_000)).toBe(1000);
    expect(times.firstReceipt('d1', 7, Buffer.from('{"type":"sos"}'), 30_000)).toBeUndefined(); // a new message reusing the id
    expect(times.firstReceipt('d2', 7, payload, 30_000)).toBeUndefined();
    expect(times.firstReceipt('d1', 7, payload, 61_001)).toBeUndefined(); // past the window
  });

  it('keeps the newest `capacity` receipts, a key set again counting as new', () => {
    const times = new ReceiptTimes(3, 60_000);
    times.set(receipt(1, 1));
    times.set(receipt(2, 2));
    times.set(receipt(1, 3)); // id 1 again, in a newer slot: its old slot must not evict it later
    times.set(receipt(3, 4)); // takes id 1's old slot
    expect(times.size).toBe(3);
    times.set(receipt(4, 5)); // evicts id 2, the oldest
    expect([1, 2, 3, 4].map((id) => times.firstReceipt('d1', id, payload, 10))).toEqual([3, undefined, 4, 5]);
    times.set(receipt(5, 6)); // evicts id 1
    expect([1, 3, 4, 5].map((id) => times.firstReceipt('d1', id, payload, 10))).toEqual([undefined, 4, 5, 6]);
  });
});
