import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { PayloadScanner } from './payload-scanner.js';

// Valid ranges of CONTRACT §2: outside them a reading is `out_of_range`.
const num = (min: number, max: number) => z.number().min(min).max(max);

const fieldSchemas = {
  blood_pressure: z
    .object({ systolic: num(40, 300), diastolic: num(20, 200), pulse: num(20, 250).optional() })
    .refine((r) => r.systolic > r.diastolic, { message: 'systolic must be above diastolic', path: ['systolic'], params: { range: true } }),
  glucose: z.object({
    mg_dl: num(10, 1000),
    context: z.enum(['fasting', 'before_meal', 'after_meal', 'random']).optional(),
  }),
  spo2: z.object({ spo2: num(50, 100), pulse: num(20, 250).optional() }),
  temperature: z.object({ celsius: num(30, 45) }),
  weight: z.object({ kg: num(10, 300) }),
  heart_rate: z.object({ bpm: num(20, 250) }),
  respiratory_rate: z.object({ per_min: num(2, 80) }),
  steps: z.object({ count: z.number().int().min(0).max(200_000) }),
  motion: z.object({ detected: z.boolean() }),
  door: z.object({ open: z.boolean() }),
  power: z.object({ watts: num(0, 10_000) }),
  illuminance: z.object({ lux: num(0, 200_000) }),
  checkin_button: z.object({}),
  sos: z.object({}),
  fall: z.object({ confidence: num(0, 1).optional() }),
} as const;

export type ReadingType = keyof typeof fieldSchemas;

/**
 * Compiled ahead of time (zod's `z.compile`): a valid reading takes a generated fast
 * path that builds no per-field results (~40 % of the bytes the platform allocated per
 * reading in the gateway mix); an invalid one falls back to the regular parser, so the
 * errors are the same. `strict`: a schema that cannot be compiled fails at start-up
 * (and in every test) instead of silently taking the slow path.
 */
const readingFieldSchemas = Object.fromEntries(
  Object.entries(fieldSchemas).map(([type, schema]) => [type, z.compile(schema, { strict: true })]),
) as { [T in ReadingType]: (typeof fieldSchemas)[T] };
export const readingTypes = Object.keys(fieldSchemas) as ReadingType[];
/** Each type's field names, in the order a valid reading's `fields` has them. */
export const readingFieldNames = {} as Record<ReadingType, readonly string[]>;
/** The fields every valid reading of a type has: a stored point without one of them is still being written. */
export const readingRequiredFieldNames = {} as Record<ReadingType, readonly string[]>;
for (const type of readingTypes) {
  const shape: Record<string, z.ZodType> = fieldSchemas[type].shape;
  readingFieldNames[type] = Object.keys(shape);
  readingRequiredFieldNames[type] = Object.keys(shape).filter((name) => !shape[name]!.safeParse(undefined).success);
}
export type ReadingFields = Record<string, number | boolean | string>;

/** Health readings count as activity and are evaluated against vital bands. */
export const healthReadingTypes: ReadonlySet<ReadingType> = new Set([
  'blood_pressure', 'glucose', 'spo2', 'temperature', 'weight', 'heart_rate', 'respiratory_rate',
]);

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_BATCH_READINGS = 500;
const MAX_FUTURE_MS = 5 * 60_000;
const MAX_AGE_MS = 30 * 24 * 3_600_000;
// ISO-8601 with an explicit offset: a bare local time would be ambiguous.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export interface ValidReading {
  type: ReadingType;
  ts: number; // epoch ms, whole: InfluxDB takes integer ms and a device may send 1764201600000.5
  fields: ReadingFields;
}

export interface ReadingError {
  error: ErrorCode;
  message: string;
  index?: number;
}

export type ReadingResult = { ok: true; reading: ValidReading } | { ok: false; error: ReadingError };

function fail(error: ErrorCode, message: string, index?: number): ReadingResult {
  return { ok: false, error: { error, message, ...(index === undefined ? {} : { index }) } };
}

function parseTs(raw: unknown): number | undefined | null {
  if (raw === undefined) return undefined;
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string' && ISO_WITH_OFFSET.test(raw)) {
    // Date.parse rolls 2026-11-31 over to 1 December; a device clock that says so is broken.
    const [y, m, d] = raw.slice(0, 10).split('-').map(Number) as [number, number, number];
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null;
    const ms = Date.parse(raw);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

// The schema of the type looked up last: a batch is mostly of one type, and a type string
// from JSON.parse is internalized, so comparing it is cheap where the lookup by key is not.
let lastType = '';
let lastSchema: (typeof readingFieldSchemas)[ReadingType] | undefined;

/** Validates one reading object; `now` is the receipt time (the default `ts`). */
export function parseReading(raw: unknown, now: number, index?: number): ReadingResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail('invalid_reading', 'a reading must be a JSON object', index);
  }
  const { type, ts } = raw as Record<string, unknown>;
  if (type !== lastType || lastSchema === undefined) {
    if (typeof type !== 'string' || !Object.hasOwn(readingFieldSchemas, type)) {
      return fail('unknown_type', `unknown reading type ${JSON.stringify(type)?.slice(0, 40)}`, index);
    }
    lastType = type;
    lastSchema = readingFieldSchemas[type as ReadingType];
  }
  // The whole object: zod drops `type`, `ts` and unknown keys from what it returns (no copy of the rest first).
  return checkReading(type as ReadingType, lastSchema, ts, raw, now, index);
}

/** The checks after the type: `ts` and the fields of `raw` against the type's schema. */
function checkReading(type: ReadingType, schema: (typeof readingFieldSchemas)[ReadingType], rawTs: unknown, raw: object, now: number, index?: number): ReadingResult {
  const ts = parseTs(rawTs);
  if (ts === null) return fail('invalid_reading', 'ts must be ISO-8601 with an offset or epoch milliseconds', index);
  const at = Math.trunc(ts ?? now);
  if (at > now + MAX_FUTURE_MS || at < now - MAX_AGE_MS) {
    return fail('ts_out_of_range', 'ts is more than 5 min ahead or older than 30 days', index);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || type;
    const range = issue.code === 'too_small' || issue.code === 'too_big' || issue.code === 'custom';
    return fail(range ? 'out_of_range' : 'invalid_reading', `${field}: ${issue.message}`, index);
  }
  return { ok: true, reading: { type, ts: at, fields: parsed.data as ReadingFields } };
}

// The plain shape nearly every device sends, read without JSON.parse; anything else declines to it.
const scanner = new PayloadScanner(readingFieldNames, MAX_BATCH_READINGS);

export interface ParsedPayload {
  readings: ValidReading[];
  errors: ReadingError[];
}

/** A readings-topic payload: one reading object, or `{readings: [...]}` with 1–500. */
export function parseReadingsPayload(payload: Buffer, now: number): ParsedPayload {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return { readings: [], errors: [{ error: 'too_large', message: `payload is ${payload.length} bytes; the limit is ${MAX_PAYLOAD_BYTES}` }] };
  }
  const scanned = scanner.scan(payload);
  if (scanned.count === 0) return parseReadingsJson(payload, now);
  const out: ParsedPayload = { readings: [], errors: [] };
  for (let i = 0; i < scanned.count; i++) {
    const type = scanned.types[i] as ReadingType;
    if (type !== lastType || lastSchema === undefined) lastSchema = readingFieldSchemas[(lastType = type)];
    const ts = scanned.timestamps[i]!;
    const result = checkReading(type, lastSchema, Number.isNaN(ts) ? undefined : ts, scanned.fields[i]!, now, scanned.batch ? i : undefined);
    if (result.ok) out.readings.push(result.reading);
    else out.errors.push(result.error);
  }
  return out;
}

/** The general path, for any JSON: what `parseReadingsPayload` gives when the scanner declines (exported for the test that holds the two equal). */
export function parseReadingsJson(payload: Buffer, now: number): ParsedPayload {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { readings: [], errors: [{ error: 'bad_json', message: 'payload is not valid JSON' }] };
  }
  if (typeof body === 'object' && body !== null && 'readings' in body) {
    const list = (body as { readings: unknown }).readings;
    if (!Array.isArray(list) || list.length === 0) {
      return { readings: [], errors: [{ error: 'invalid_reading', message: 'readings must be a non-empty array' }] };
    }
    if (list.length > MAX_BATCH_READINGS) {
      return { readings: [], errors: [{ error: 'too_large', message: `a batch holds at most ${MAX_BATCH_READINGS} readings` }] };
    }
    const out: ParsedPayload = { readings: [], errors: [] };
    list.forEach((raw, index) => {
      const result = parseReading(raw, now, index);
      if (result.ok) out.readings.push(result.reading);
      else out.errors.push(result.error);
    });
    return out;
  }
  const result = parseReading(body, now);
  return result.ok ? { readings: [result.reading], errors: [] } : { readings: [], errors: [result.error] };
}
