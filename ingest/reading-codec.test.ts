import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReadingsPayload, readingFieldNames, readingTypes, type ReadingFields, type ValidReading } from '../core/schemas/readings.js';
import { packReadings, packedFieldNames, unpackReadings } from './reading-codec.js';

const at = Date.UTC(2026, 10, 27, 6, 0, 0, 123);

/** Equal readings: numbers by Object.is (so −0 stays −0), fields in the same order. */
function expectSame(actual: ValidReading[], expected: readonly ValidReading[]): void {
  expect(actual.map((r) => [r.type, r.ts, Object.keys(r.fields)])).toEqual(expected.map((r) => [r.type, r.ts, Object.keys(r.fields)]));
  actual.forEach((r, i) => {
    for (const key of Object.keys(r.fields)) expect(Object.is(r.fields[key], expected[i]!.fields[key]), `${i}.${key}`).toBe(true);
  });
}

describe('packed readings', () => {
  it('has a code for every field of every reading type, and for nothing else, in the schemas\' order', () => {
    // New fields go at the end of a schema as of the code table, so unpacked fields keep the order validation gives.
    for (const type of readingTypes) expect(packedFieldNames[type], type).toEqual(readingFieldNames[type]);
  });

  it('reads rows written by earlier versions the same way (codes are never renumbered)', () => {
    // Packed by the first version of the codec: a batch of every kind of value, received at `at`.
    const golden =
      '0580bab70301003c00d0fd05030080010851100a03bf3e010266666666664642400e000102666666666666e63f082b010401020200630d0b6265666f72655f6d65616c0dfe9ff6a7130007000101040a0001020000000000000080';
    expectSame(unpackReadings(at, Buffer.from(golden, 'hex')), [
      { type: 'heart_rate', ts: at - 3_600_000, fields: { bpm: 60 } },
      { type: 'blood_pressure', ts: at - 49_000, fields: { systolic: 128, diastolic: 81, pulse: 10 } },
      { type: 'temperature', ts: at + 4_000, fields: { celsius: 36.55 } },
      { type: 'fall', ts: at, fields: { confidence: 0.7 } },
      { type: 'motion', ts: at + 22, fields: { detected: true } },
      { type: 'glucose', ts: at - 1, fields: { mg_dl: 99, context: 'before_meal' } },
      { type: 'sos', ts: at - 2_591_999_999, fields: {} },
      { type: 'steps', ts: at, fields: { count: -5 } },
      { type: 'power', ts: at, fields: { watts: -0 } },
    ]);
  });

  it('gives back what was validated, for readings of every type', () => {
    const payload = {
      readings: [
        { type: 'blood_pressure', systolic: 128, diastolic: 82.5, pulse: 71, ts: at - 60_000 },
        { type: 'glucose', mg_dl: 104, context: 'fasting', ts: new Date(at - 1_000).toISOString() },
        { type: 'spo2', spo2: 97 },
        { type: 'temperature', celsius: 36.6, ts: at + 299_000 },
        { type: 'weight', kg: 61.25 },
        { type: 'heart_rate', bpm: 72, ts: at - 29 * 86_400_000 },
        { type: 'respiratory_rate', per_min: 16 },
        { type: 'steps', count: 200_000 },
        { type: 'motion', detected: false },
        { type: 'door', open: true },
        { type: 'power', watts: 0.5 },
        { type: 'illuminance', lux: 120_000 },
        { type: 'checkin_button' },
        { type: 'sos' },
        { type: 'fall', confidence: 0.93 },
      ],
    };
    const { readings, errors } = parseReadingsPayload(Buffer.from(JSON.stringify(payload)), at);
    expect(errors).toEqual([]);
    expect(new Set(readings.map((r) => r.type))).toEqual(new Set(readingTypes));
    expectSame(unpackReadings(at, packReadings(at, readings)), readings);
  });

  it('round-trips any numbers, booleans and strings, whatever their size', () => {
    const value = fc.oneof(
      fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
      fc.constantFrom(0, -0, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) + 1, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
    );
    const reading = fc.constantFrom(...readingTypes).chain((type) =>
      fc.record({
        type: fc.constant(type),
        // A receipt time's neighbourhood, and the whole safe range around it.
        ts: fc.oneof(fc.integer({ min: at - 31 * 86_400_000, max: at + 600_000 }), fc.integer({ min: at - 2 ** 51, max: at + 2 ** 51 })),
        fields: fc.shuffledSubarray([...packedFieldNames[type]]).chain((keys) =>
          fc.tuple(...keys.map(() => value)).map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]!])) as ReadingFields),
        ),
      }),
    );
    const inCodeOrder = (r: ValidReading): ValidReading => ({
      ...r,
      fields: Object.fromEntries(packedFieldNames[r.type].filter((k) => k in r.fields).map((k) => [k, r.fields[k]!])),
    });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 500 }), (readings) => {
        expectSame(unpackReadings(at, Buffer.from(packReadings(at, readings))), readings.map(inCodeOrder));
      }),
    );
  });

  it('packs a heart_rate reading of a gateway batch in 8 bytes', () => {
    const readings: ValidReading[] = Array.from({ length: 100 }, (_, k) => ({ type: 'heart_rate', ts: at - 3_600_000 + k, fields: { bpm: 60 + (k % 40) } }));
    expect(packReadings(at, readings).length).toBe(800);
  });

  it('refuses what it cannot pack exactly', () => {
    expect(() => packReadings(at, [{ type: 'heart_rate', ts: at - 0.5, fields: { bpm: 60 } }])).toThrow(/not a whole number/);
    expect(() => packReadings(at, [{ type: 'heart_rate', ts: at, fields: { bpm: 60, pulse: 60 } }])).toThrow(/heart_rate has no field pulse/);
  });

  it('throws on bytes it did not write, rather than inventing readings', () => {
    const packed = Buffer.from(packReadings(at, [{ type: 'temperature', ts: at, fields: { celsius: 36.6 } }]));
    expect(() => unpackReadings(at, packed.subarray(0, packed.length - 3))).toThrow(/end early/);
    expect(() => unpackReadings(at, Buffer.from([0x3f, 0x00, 0x00]))).toThrow(/unknown type code 63/);
    expect(() => unpackReadings(at, Buffer.from([0x05, 0x00, 0x01, 0x07]))).toThrow(/unknown value kind 7/);
  });
});
