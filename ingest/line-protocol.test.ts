import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Observation } from '../core/schemas/observation.js';
import { joinBlocks, readingLines, releaseBlock, retainBlock, splitLines, toLineProtocol } from './line-protocol.js';

const ts = Date.UTC(2026, 10, 27, 0, 0, 0) + 123; // ms precision must survive

function observation(type: Observation['type'], fields: Observation['fields']): Observation {
  return { residentId: 'r-0042', deviceId: 'bp-7', dong: '1111051500', type, ts, receivedAt: ts + 50, fields };
}

/** Splits a line into measurement, tags, fields and timestamp (no escaped spaces or commas in these tests). */
function parseLine(line: string) {
  const [series, fieldSet, timestamp, ...rest] = line.split(' ');
  expect(rest).toEqual([]);
  const [measurement, ...tagPairs] = series!.split(',');
  return {
    measurement,
    tags: Object.fromEntries(tagPairs.map((p) => p.split('='))),
    fields: Object.fromEntries(fieldSet!.split(',').map((p) => p.split('='))),
    timestamp,
  };
}

describe('toLineProtocol', () => {
  it('names the measurement after the reading type and tags resident, device, dong and type', () => {
    const line = parseLine(toLineProtocol(observation('blood_pressure', { systolic: 128, diastolic: 82, pulse: 71 })));
    expect(line.measurement).toBe('blood_pressure');
    expect(line.tags).toEqual({ resident: 'r-0042', device: 'bp-7', dong: '1111051500', type: 'blood_pressure' });
  });

  it('writes the timestamp in epoch milliseconds, the time the reading happened', () => {
    expect(parseLine(toLineProtocol(observation('spo2', { spo2: 97 }))).timestamp).toBe(String(ts));
  });

  it('writes numbers as floats, never as integers, so a field keeps one type however the device rounds', () => {
    const line = parseLine(toLineProtocol(observation('blood_pressure', { systolic: 128, diastolic: 82, pulse: 71 })));
    expect(line.fields).toEqual({ systolic: '128', diastolic: '82', pulse: '71' });
    for (const value of Object.values(line.fields)) expect(value).not.toMatch(/[iu]$/);
    expect(parseLine(toLineProtocol(observation('temperature', { celsius: 36.6 }))).fields).toEqual({ celsius: '36.6' });
    expect(parseLine(toLineProtocol(observation('steps', { count: 4200 }))).fields.count).toBe('4200');
  });

  it.each([
    ['motion', { detected: true }, 'detected', true],
    ['motion', { detected: false }, 'detected', false],
    ['door', { open: true }, 'open', true],
  ] as const)('writes the %s boolean as a boolean', (type, fields, name, expected) => {
    const value = parseLine(toLineProtocol(observation(type, fields))).fields[name] as string;
    expect(value).toMatch(expected ? /^(t|T|true|True|TRUE)$/ : /^(f|F|false|False|FALSE)$/);
  });

  it('writes a string field quoted', () => {
    expect(parseLine(toLineProtocol(observation('glucose', { mg_dl: 104, context: 'fasting' }))).fields).toEqual({
      mg_dl: '104',
      context: '"fasting"',
    });
  });

  it.each(['sos', 'checkin_button'] as const)('gives a %s event without fields the field event=true', (type) => {
    const line = parseLine(toLineProtocol(observation(type, {})));
    expect(line.measurement).toBe(type);
    expect(Object.keys(line.fields)).toEqual(['event']);
    expect(line.fields.event).toMatch(/^(t|T|true|True|TRUE)$/);
  });

  it('adds no event field to a reading that has fields', () => {
    expect(parseLine(toLineProtocol(observation('fall', { confidence: 0.9 }))).fields).toEqual({ confidence: '0.9' });
  });

  it('writes the exact line InfluxDB expects for a heart rate reading', () => {
    const lp = toLineProtocol(observation('heart_rate', { bpm: 72 }));
    expect(lp).toBe(`heart_rate,device=bp-7,dong=1111051500,resident=r-0042,type=heart_rate bpm=72 ${ts}`);
  });

  it('writes a block of lines, each ending in a newline, that splits back into its lines', () => {
    const device = { deviceId: 'bp-7', residentId: 'r-0042', dong: '1111051500' };
    const block = readingLines(device, [
      { type: 'heart_rate', ts, fields: { bpm: 72 } },
      { type: 'temperature', ts: ts + 1, fields: { celsius: 36.6 } },
      { type: 'heart_rate', ts: ts + 2, fields: { bpm: 73 } },
    ]);
    expect(block.toString()).toBe(
      `heart_rate,device=bp-7,dong=1111051500,resident=r-0042,type=heart_rate bpm=72 ${ts}\n`
      + `temperature,device=bp-7,dong=1111051500,resident=r-0042,type=temperature celsius=36.6 ${ts + 1}\n`
      + `heart_rate,device=bp-7,dong=1111051500,resident=r-0042,type=heart_rate bpm=73 ${ts + 2}\n`,
    );
    expect(splitLines(block).map(String)).toEqual(block.toString().split(/(?<=\n)/));
  });

  it('writes the same text as String() for any number, timestamp and string (bytes written by hand)', () => {
    const device = { deviceId: 'd_x', residentId: 'r_y', dong: '1111051500' };
    const value = fc.oneof(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ unit: 'grapheme', maxLength: 30 }));
    // Besides any timestamp, the ones where splitting into millions could go wrong: k·1e6 - 1 up to 2^53.
    const edgeTs = fc.constantFrom(2 ** 31, 2 ** 31 + 999_999, 999_999_999_999_999, 8_999_999_999_999_999, 9_007_199_253_999_999, Number.MAX_SAFE_INTEGER);
    const reading = fc.record({ ts: fc.oneof(fc.maxSafeNat(), edgeTs), fields: fc.dictionary(fc.constantFrom('a', 'bb', 'mg_dl'), value, { maxKeys: 3 }) });
    const expected = (r: { ts: number; fields: Record<string, number | boolean | string> }) => {
      const fields = Object.entries(r.fields).map(([k, v]) =>
        `${k}=${typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 't' : 'f') : `"${v.replace(/(["\\])/g, '\\$1')}"`}`);
      return `glucose,device=d_x,dong=1111051500,resident=r_y,type=glucose ${fields.join(',') || 'event=t'} ${r.ts}\n`;
    };
    fc.assert(fc.property(fc.array(reading, { minLength: 1, maxLength: 20 }), (readings) => {
      const block = readingLines(device, readings.map((r) => ({ type: 'glucose' as const, ...r })));
      expect(block.toString('utf8')).toBe(readings.map(expected).join(''));
    }), { numRuns: 2000 });
  });

  it('writes a message larger than a whole slab (500 readings with long string fields, ~3 MB)', () => {
    const device = { deviceId: 'd_x', residentId: 'r_y', dong: '1111051500' };
    const long = '동행'.repeat(1000);
    const readings = Array.from({ length: 500 }, (_, i) => ({ type: 'glucose' as const, ts: ts + i, fields: { mg_dl: 100 + i, context: long } }));
    const block = readingLines(device, readings);
    expect(block.length).toBeGreaterThan(1024 * 1024);
    const lines = splitLines(block).map(String);
    expect(lines).toHaveLength(500);
    expect(lines[0]).toBe(`glucose,device=d_x,dong=1111051500,resident=r_y,type=glucose mg_dl=100,context="${long}" ${ts}\n`);
    expect(lines[499]).toBe(`glucose,device=d_x,dong=1111051500,resident=r_y,type=glucose mg_dl=599,context="${long}" ${ts + 499}\n`);
  });

  it('joins the blocks of consecutive messages into one body without copying them, and copies across slabs', () => {
    const device = { deviceId: 'd_x', residentId: 'r_y', dong: '1111051500' };
    const message = (i: number) => readingLines(device, Array.from({ length: 100 }, (_, k) => ({ type: 'heart_rate' as const, ts: ts + i * 100 + k, fields: { bpm: 60 + k } })));
    // Messages (≈ 9 KB each) until they have filled the slab in use (whatever earlier tests left) and moved to the next.
    const blocks = [message(0)];
    while (blocks[blocks.length - 1]!.buffer === blocks[0]!.buffer && blocks.length < 5000) blocks.push(message(blocks.length));
    for (let i = 0; i < 10; i++) blocks.push(message(blocks.length));
    // Written independently: the message that moved to a new slab mid-write, and every block before it, read back intact.
    let expected = '';
    for (let i = 0; i < blocks.length; i++) {
      for (let k = 0; k < 100; k++) expected += `heart_rate,device=d_x,dong=1111051500,resident=r_y,type=heart_rate bpm=${60 + k} ${ts + i * 100 + k}\n`;
    }
    const body = joinBlocks(blocks);
    expect(body.toString()).toBe(expected);
    const i = blocks.findIndex((b, k) => b.buffer === blocks[k + 1]?.buffer);
    expect(joinBlocks(blocks.slice(i, i + 2)).buffer).toBe(blocks[i]!.buffer); // a view of the slab, not a copy
    expect(new Set(blocks.map((b) => b.buffer)).size).toBeGreaterThan(1);
  });

  describe('slab reuse', () => {
    const device = { deviceId: 'd_x', residentId: 'r_y', dong: '1111051500' };
    const text = (i: number) => Array.from({ length: 100 }, (_, k) => `heart_rate,device=d_x,dong=1111051500,resident=r_y,type=heart_rate bpm=${60 + k} ${ts + i * 100 + k}\n`).join('');
    const message = (i: number) => readingLines(device, Array.from({ length: 100 }, (_, k) => ({ type: 'heart_rate' as const, ts: ts + i * 100 + k, fields: { bpm: 60 + k } })));

    it('writes over a full slab once every block of it is given back', () => {
      // Onto a slab of its own (earlier tests left blocks held in the one in use), then fill it,
      // giving every block back at once.
      let n = 0;
      const startingSlab = message(n++);
      releaseBlock(startingSlab);
      let block = message(n++);
      while (block.buffer === startingSlab.buffer) {
        releaseBlock(block);
        block = message(n++);
      }
      const slab = block.buffer;
      while (block.buffer === slab) {
        releaseBlock(block);
        block = message(n++);
      }
      releaseBlock(block);
      // The slabs after it come from the free list: within a few, one of them is the first again.
      const seen = new Set<ArrayBufferLike>();
      for (let i = 0; i < 2000 && !seen.has(slab); i++) {
        const block = message(n++);
        seen.add(block.buffer);
        releaseBlock(block);
      }
      expect(seen.has(slab)).toBe(true);
    });

    it('never writes over a block still held, whoever holds it (property)', () => {
      // Any order of writes, retains and releases: every block with a hold left reads back as written.
      const op = fc.oneof(fc.constant({ kind: 'write' as const }), fc.record({ kind: fc.constantFrom('retain' as const, 'release' as const), pick: fc.nat() }));
      fc.assert(fc.property(fc.array(op, { minLength: 50, maxLength: 400 }), (ops) => {
        const held: { block: Buffer; text: string; holds: number }[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            held.push({ block: message(n), text: text(n), holds: 1 });
            n++;
          } else if (held.length > 0) {
            const h = held[o.pick % held.length]!;
            if (o.kind === 'retain') {
              retainBlock(h.block);
              h.holds++;
            } else {
              releaseBlock(h.block);
              if (--h.holds === 0) held.splice(held.indexOf(h), 1);
            }
          }
        }
        for (let i = 0; i < 300; i++) releaseBlock(message(n + i)); // enough writing to reuse every slab given back
        for (const h of held) expect(h.block.toString()).toBe(h.text);
        for (const h of held) for (let k = 0; k < h.holds; k++) releaseBlock(h.block);
      }), { numRuns: 40 });
    });

    it('ignores buffers it did not write', () => {
      const block = message(0);
      releaseBlock(Buffer.from('not a slab'));
      retainBlock(Buffer.from('not a slab'));
      for (let i = 1; i < 300; i++) releaseBlock(message(i));
      expect(block.toString()).toBe(text(0));
      releaseBlock(block);
    });
  });
});
