import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Observation } from '../core/schemas/observation.js';
import { joinBlocks, readingLines, splitLines, toLineProtocol } from './line-protocol.js';

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
    const reading = fc.record({ ts: fc.maxSafeNat(), fields: fc.dictionary(fc.constantFrom('a', 'bb', 'mg_dl'), value, { maxKeys: 3 }) });
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
});
