import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../errors.js';
import {
  MAX_BATCH_READINGS,
  MAX_PAYLOAD_BYTES,
  parseReading,
  parseReadingsPayload,
  readingFieldNames,
  readingRequiredFieldNames,
  readingTypes,
  type ReadingType,
} from './readings.js';

const now = Date.UTC(2026, 10, 27, 0, 0, 0); // receipt time: 2026-11-27 09:00 in Seoul
const minute = 60_000;
const day = 24 * 60 * minute;

function errorCodeOf(raw: unknown): ErrorCode | undefined {
  const result = parseReading(raw, now);
  return result.ok ? undefined : result.error.error;
}

const payload = (body: unknown) => Buffer.from(JSON.stringify(body));

// One valid example per CONTRACT §2 type: the type and the fields it should come back with.
const validExamples: [ReadingType, Record<string, unknown>][] = [
  ['blood_pressure', { systolic: 128, diastolic: 82, pulse: 71 }],
  ['glucose', { mg_dl: 104, context: 'fasting' }],
  ['spo2', { spo2: 97, pulse: 68 }],
  ['temperature', { celsius: 36.6 }],
  ['weight', { kg: 58.4 }],
  ['heart_rate', { bpm: 72 }],
  ['respiratory_rate', { per_min: 14 }],
  ['steps', { count: 3210 }],
  ['motion', { detected: true }],
  ['door', { open: false }],
  ['power', { watts: 1800 }],
  ['illuminance', { lux: 320 }],
  ['checkin_button', {}],
  ['sos', {}],
  ['fall', { confidence: 0.93 }],
];

// One invalid example per type, with the code CONTRACT §2 promises for it.
const invalidExamples: [ReadingType, Record<string, unknown>, ErrorCode][] = [
  ['blood_pressure', { systolic: 310, diastolic: 80 }, 'out_of_range'],
  ['glucose', { mg_dl: 5 }, 'out_of_range'],
  ['spo2', { spo2: 101 }, 'out_of_range'],
  ['temperature', { celsius: 46 }, 'out_of_range'],
  ['weight', { kg: 9.9 }, 'out_of_range'],
  ['heart_rate', { bpm: 251 }, 'out_of_range'],
  ['respiratory_rate', { per_min: 1 }, 'out_of_range'],
  ['steps', { count: 200_001 }, 'out_of_range'],
  ['motion', { detected: 'yes' }, 'invalid_reading'],
  ['door', {}, 'invalid_reading'],
  ['power', { watts: -1 }, 'out_of_range'],
  ['illuminance', { lux: 200_001 }, 'out_of_range'],
  ['checkin_button', { ts: 'yesterday' }, 'invalid_reading'],
  ['sos', { ts: now + 60 * minute }, 'ts_out_of_range'],
  ['fall', { confidence: 1.5 }, 'out_of_range'],
];

describe('parseReading', () => {
  it('has one valid and one invalid example for every reading type of CONTRACT §2', () => {
    expect(validExamples.map(([type]) => type).sort()).toEqual([...readingTypes].sort());
    expect(invalidExamples.map(([type]) => type).sort()).toEqual([...readingTypes].sort());
  });

  it.each(validExamples)('accepts a valid %s reading and keeps its fields', (type, fields) => {
    const result = parseReading({ type, ...fields }, now);
    expect(result).toEqual({ ok: true, reading: { type, ts: now, fields } });
  });

  it.each(invalidExamples)('rejects an invalid %s reading %j with %s', (type, fields, code) => {
    expect(errorCodeOf({ type, ...fields })).toBe(code);
  });

  it.each([
    ['blood_pressure', { systolic: 40, diastolic: 20 }],
    ['blood_pressure', { systolic: 300, diastolic: 200, pulse: 250 }],
    ['glucose', { mg_dl: 10 }],
    ['glucose', { mg_dl: 1000 }],
    ['spo2', { spo2: 50 }],
    ['spo2', { spo2: 100 }],
    ['temperature', { celsius: 30 }],
    ['temperature', { celsius: 45 }],
    ['weight', { kg: 300 }],
    ['heart_rate', { bpm: 20 }],
    ['respiratory_rate', { per_min: 80 }],
    ['steps', { count: 0 }],
    ['power', { watts: 0 }],
    ['illuminance', { lux: 200_000 }],
    ['fall', { confidence: 0 }],
    ['fall', { confidence: 1 }],
  ])('accepts a %s reading on the edge of its valid range %j', (type, fields) => {
    expect(parseReading({ type, ...fields }, now).ok).toBe(true);
  });

  it.each([
    ['blood_pressure', { systolic: 120, diastolic: 19 }],
    ['blood_pressure', { systolic: 120, diastolic: 80, pulse: 19 }],
    ['spo2', { spo2: 49 }],
    ['spo2', { spo2: 95, pulse: 251 }],
    ['temperature', { celsius: 29.9 }],
    ['weight', { kg: 300.1 }],
    ['heart_rate', { bpm: 19 }],
    ['respiratory_rate', { per_min: 81 }],
    ['power', { watts: 10_001 }],
    ['fall', { confidence: -0.1 }],
  ])('rejects a %s reading just outside its valid range %j as out_of_range', (type, fields) => {
    expect(errorCodeOf({ type, ...fields })).toBe('out_of_range');
  });

  it.each([
    [{ systolic: 80, diastolic: 80 }],
    [{ systolic: 70, diastolic: 90 }],
  ])('rejects a blood pressure %j whose systolic is not above its diastolic as out_of_range', (fields) => {
    expect(errorCodeOf({ type: 'blood_pressure', ...fields })).toBe('out_of_range');
  });

  it.each([
    ['a missing field', { type: 'spo2' }],
    ['a number sent as a string', { type: 'spo2', spo2: '97' }],
    ['a fractional step count', { type: 'steps', count: 12.5 }],
    ['an unknown glucose context', { type: 'glucose', mg_dl: 100, context: 'bedtime' }],
    ['a blood pressure without diastolic', { type: 'blood_pressure', systolic: 120 }],
  ])('rejects %s as invalid_reading', (_what, raw) => {
    expect(errorCodeOf(raw)).toBe('invalid_reading');
  });

  it.each([
    ['an unknown type', { type: 'blood_sugar', mg_dl: 100 }],
    ['a missing type', { spo2: 97 }],
    ['a type that is not a string', { type: 7 }],
    ['an inherited property name', { type: 'constructor' }],
    ['__proto__', JSON.parse('{"type":"__proto__"}')],
  ])('rejects %s as unknown_type', (_what, raw) => {
    expect(errorCodeOf(raw)).toBe('unknown_type');
  });

  it.each([null, 'spo2', 42, [{ type: 'spo2', spo2: 97 }]])('rejects a reading that is not an object (%j) as invalid_reading', (raw) => {
    expect(errorCodeOf(raw)).toBe('invalid_reading');
  });

  it('takes the time of receipt when ts is missing', () => {
    const result = parseReading({ type: 'motion', detected: true }, now);
    expect(result.ok && result.reading.ts).toBe(now);
  });

  it.each([
    ['ISO-8601 with Z', '2026-11-26T23:30:00Z', now - 30 * minute],
    ['ISO-8601 with a +09:00 offset', '2026-11-27T08:30:00+09:00', now - 30 * minute],
    ['ISO-8601 with milliseconds and an offset', '2026-11-27T08:30:00.250+09:00', now - 30 * minute + 250],
    ['epoch milliseconds', now - 30 * minute, now - 30 * minute],
    ['exactly 5 min ahead', now + 5 * minute, now + 5 * minute],
    ['exactly 30 days old', now - 30 * day, now - 30 * day],
  ])('accepts ts as %s', (_what, ts, expected) => {
    const result = parseReading({ type: 'heart_rate', bpm: 70, ts }, now);
    expect(result).toEqual({ ok: true, reading: { type: 'heart_rate', ts: expected, fields: { bpm: 70 } } });
  });

  it.each([
    ['1 h ahead', now + 60 * minute],
    ['just over 5 min ahead', now + 5 * minute + 1],
    ['40 days old', now - 40 * day],
    ['just over 30 days old', now - 30 * day - 1],
    ['1 h ahead as ISO-8601', '2026-11-27T10:00:00+09:00'],
    ['epoch seconds read as milliseconds (1970)', Math.floor(now / 1000)],
  ])('rejects ts %s with ts_out_of_range', (_what, ts) => {
    expect(errorCodeOf({ type: 'heart_rate', bpm: 70, ts })).toBe('ts_out_of_range');
  });

  it.each([
    ['ISO-8601 without an offset', '2026-11-27T08:30:00'],
    ['a bare date', '2026-11-27'],
    ['an hour that does not exist', '2026-11-26T25:00:00Z'],
    ['a day that does not exist', '2026-11-31T00:00:00Z'],
    ['a numeric string', String(now)],
    ['null', null],
    ['a word', 'now'],
  ])('rejects ts as %s with invalid_reading', (_what, ts) => {
    expect(errorCodeOf({ type: 'heart_rate', bpm: 70, ts })).toBe('invalid_reading');
  });

  it('carries the index it was given on its error, and none when it was given none', () => {
    const withIndex = parseReading({ type: 'spo2', spo2: 20 }, now, 3);
    const withoutIndex = parseReading({ type: 'spo2', spo2: 20 }, now);
    expect(withIndex.ok || withIndex.error.index).toBe(3);
    expect(withoutIndex.ok || 'index' in withoutIndex.error).toBe(false);
  });

  it('names the offending field in the error message', () => {
    const result = parseReading({ type: 'blood_pressure', systolic: 120, diastolic: 80, pulse: 400 }, now);
    expect(result.ok).toBe(false);
    expect(result.ok || result.error.message).toContain('pulse');
  });
});

describe('readingRequiredFieldNames', () => {
  it('lists the fields without which a reading of the type is invalid, and no optional one', () => {
    expect(readingRequiredFieldNames.spo2).toEqual(['spo2']);
    expect(readingRequiredFieldNames.blood_pressure).toEqual(['systolic', 'diastolic']);
    expect(readingRequiredFieldNames.glucose).toEqual(['mg_dl']);
    expect(readingRequiredFieldNames.fall).toEqual([]);
    expect(readingRequiredFieldNames.sos).toEqual([]);
    // Dropping a required field makes a valid example invalid; dropping an optional one does not.
    for (const [type, example] of validExamples) {
      expect(Object.keys(example), type).toEqual(readingFieldNames[type]);
      for (const name of readingFieldNames[type]) {
        const rest = Object.fromEntries(Object.entries(example).filter(([key]) => key !== name));
        expect(parseReading({ type, ...rest, ts: now }, now).ok, `${type} without ${name}`).toBe(!readingRequiredFieldNames[type].includes(name));
      }
    }
  });
});

describe('parseReadingsPayload', () => {
  it('accepts a single reading object', () => {
    const parsed = parseReadingsPayload(payload({ type: 'spo2', spo2: 96 }), now);
    expect(parsed).toEqual({ readings: [{ type: 'spo2', ts: now, fields: { spo2: 96 } }], errors: [] });
  });

  it('keeps the good readings of a batch with one bad one', () => {
    const parsed = parseReadingsPayload(
      payload({ readings: [{ type: 'spo2', spo2: 130 }, { type: 'spo2', spo2: 96 }, { type: 'motion', detected: true }] }),
      now,
    );
    expect(parsed.readings.map((r) => r.type)).toEqual(['spo2', 'motion']);
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatchObject({ error: 'out_of_range', index: 0 });
  });

  it('reports each bad reading of a batch with its own index and code', () => {
    const parsed = parseReadingsPayload(
      payload({
        readings: [
          { type: 'door', open: true },
          { type: 'teleport' },
          { type: 'temperature', celsius: 36.5 },
          { type: 'temperature', celsius: 36.5, ts: now - 40 * day },
        ],
      }),
      now,
    );
    expect(parsed.readings).toHaveLength(2);
    expect(parsed.errors.map((e) => [e.index, e.error])).toEqual([
      [1, 'unknown_type'],
      [3, 'ts_out_of_range'],
    ]);
  });

  it('rejects malformed JSON with bad_json', () => {
    expect(parseReadingsPayload(Buffer.from('{"type": "spo2", "spo2": 9'), now)).toMatchObject({
      readings: [],
      errors: [{ error: 'bad_json' }],
    });
  });

  it('rejects a payload over 64 KiB with too_large, without parsing it', () => {
    const big = Buffer.alloc(65 * 1024, ' ');
    big.write('{"type":"motion","detected":true}');
    expect(parseReadingsPayload(big, now)).toMatchObject({ readings: [], errors: [{ error: 'too_large' }] });
  });

  it('accepts a payload of exactly 64 KiB', () => {
    const body = JSON.stringify({ type: 'motion', detected: true });
    const exact = Buffer.from(body + ' '.repeat(MAX_PAYLOAD_BYTES - body.length));
    expect(exact.length).toBe(64 * 1024);
    expect(parseReadingsPayload(exact, now).readings).toHaveLength(1);
  });

  it('rejects a batch of 501 readings with too_large', () => {
    const readings = Array.from({ length: 501 }, () => ({ type: 'motion', detected: true }));
    expect(parseReadingsPayload(payload({ readings }), now)).toMatchObject({ readings: [], errors: [{ error: 'too_large' }] });
  });

  it('accepts a batch of exactly 500 readings', () => {
    const readings = Array.from({ length: MAX_BATCH_READINGS }, () => ({ type: 'motion', detected: true }));
    const parsed = parseReadingsPayload(payload({ readings }), now);
    expect(parsed.readings).toHaveLength(500);
    expect(parsed.errors).toEqual([]);
  });

  it.each([
    ['an empty batch', { readings: [] }],
    ['readings that are not an array', { readings: { type: 'spo2', spo2: 97 } }],
    ['a top-level array', [{ type: 'spo2', spo2: 97 }]],
    ['JSON null', null],
  ])('rejects %s with invalid_reading', (_what, body) => {
    expect(parseReadingsPayload(payload(body), now)).toMatchObject({ readings: [], errors: [{ error: 'invalid_reading' }] });
  });

  it('gives each reading of a batch without ts the time of receipt', () => {
    const parsed = parseReadingsPayload(payload({ readings: [{ type: 'sos' }, { type: 'checkin_button', ts: now - minute }] }), now);
    expect(parsed.readings.map((r) => r.ts)).toEqual([now, now - minute]);
  });
});
