import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PACKET_BYTES } from '../broker/limits.js';
import { MAX_BUS_PAYLOAD_BYTES, splitJsonArray } from './mqtt-bus.js';
import { busTopic, busTopicOf, serviceOfAccount } from './service-accounts.js';

const parse = (chunk: Buffer) => JSON.parse(chunk.toString('utf8')) as unknown[];

describe('splitJsonArray', () => {
  it('keeps an array under the limit whole', () => {
    const { chunks, oversized } = splitJsonArray([{ a: 1 }, { b: 2 }], 1000);
    expect(chunks.map(parse)).toEqual([[{ a: 1 }, { b: 2 }]]);
    expect(oversized).toBe(0);
  });

  it('splits into arrays within the limit that hold every item once, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 60 }), fc.integer({ min: 40, max: 400 }), (items, maxBytes) => {
        const { chunks, oversized } = splitJsonArray(items, maxBytes);
        const fitting = items.filter((item) => Buffer.byteLength(JSON.stringify(item) ?? 'null') + 2 <= maxBytes);
        expect(chunks.every((chunk) => chunk.length <= maxBytes)).toBe(true);
        expect(chunks.every((chunk) => parse(chunk).length > 0)).toBe(true);
        expect(chunks.flatMap(parse)).toEqual(JSON.parse(JSON.stringify(fitting)));
        expect(oversized).toBe(items.length - fitting.length);
      }),
    );
  });

  it('measures UTF-8 bytes, not characters', () => {
    const name = '동행'.repeat(10); // 20 characters, 60 bytes: 62 in JSON
    const { chunks } = splitJsonArray([name, name], 120);
    expect(chunks).toHaveLength(2);
    expect(chunks.every((chunk) => chunk.length <= 120)).toBe(true);
  });

  it('leaves out an item too large for an array of its own, and counts it', () => {
    const { chunks, oversized } = splitJsonArray(['x'.repeat(50), 'small'], 40);
    expect(chunks.map(parse)).toEqual([['small']]);
    expect(oversized).toBe(1);
  });
});

describe('the services bus topics and accounts', () => {
  it('sends payloads well below the packet size at which the broker drops a connection', () => {
    expect(MAX_BUS_PAYLOAD_BYTES).toBeLessThanOrEqual(MAX_PACKET_BYTES / 2);
  });

  it('names the accounts svc:<service> for the services of a split only', () => {
    expect(serviceOfAccount('svc:alerts')).toBe('alerts');
    expect(serviceOfAccount('svc:all')).toBeUndefined();
    expect(serviceOfAccount('svc:')).toBeUndefined();
    expect(serviceOfAccount('alerts')).toBeUndefined();
  });

  it('maps bus topics to MQTT topics and back', () => {
    expect(busTopic('device-status')).toBe('dh/v1/svc/bus/device-status');
    expect(busTopicOf(busTopic('alert'))).toBe('alert');
    expect(busTopicOf('dh/v1/svc/rpc/alerts')).toBeUndefined();
  });
});
