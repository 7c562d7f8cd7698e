import type { ReadingFields, ReadingType, ValidReading } from '../core/schemas/readings.js';

/**
 * How the outbox stores a message's validated readings: a few bytes each (8 for a
 * heart_rate reading) where the payload's JSON took ~49. Every byte a commit adds
 * is written to the WAL, synced and copied again by a checkpoint: CPU on the main
 * thread, libuv's threads and the checkpointer's (docs/decisions.md, "Ingest hot
 * path, sixth pass"). Exact: unpacking gives the readings that were packed,
 * numbers bit for bit, with the fields in code order (the schemas' order, as
 * validation gives them).
 *
 * The readings one after another, each:
 *   type code (1 byte) · ts as the zigzag varint of `at − ts` · field count (1 byte) ·
 *   per field, in code order, one byte `key code << 3 | kind`, then the value.
 * Kinds: a whole number in [0, 2^32) as a varint; one in [−2^32, 0) as the varint of
 * −v − 1; any other number as 8 bytes of float64 (LE); false; true (no value bytes);
 * a string as its UTF-8 length (varint) and bytes.
 */

// Rows on disk refer to these codes: add types and keys at the end, never renumber or reuse one.
const CODES: { readonly [T in ReadingType]: readonly [code: number, keys: readonly string[]] } = {
  blood_pressure: [0, ['systolic', 'diastolic', 'pulse']],
  glucose: [1, ['mg_dl', 'context']],
  spo2: [2, ['spo2', 'pulse']],
  temperature: [3, ['celsius']],
  weight: [4, ['kg']],
  heart_rate: [5, ['bpm']],
  respiratory_rate: [6, ['per_min']],
  steps: [7, ['count']],
  motion: [8, ['detected']],
  door: [9, ['open']],
  power: [10, ['watts']],
  illuminance: [11, ['lux']],
  checkin_button: [12, []],
  sos: [13, []],
  fall: [14, ['confidence']],
};

/** The field names each type's code table knows, in code order (a test holds them to the schemas). */
export const packedFieldNames = {} as Record<ReadingType, readonly string[]>;
const byCode: { type: ReadingType; keys: readonly string[] }[] = [];
for (const [type, [code, keys]] of Object.entries(CODES) as [ReadingType, (typeof CODES)[ReadingType]][]) {
  packedFieldNames[type] = keys;
  byCode[code] = { type, keys };
}

const UINT = 0;
const NEG_INT = 1;
const FLOAT64 = 2;
const FALSE = 3;
const TRUE = 4;
const STRING = 5;
const UINT32_LIMIT = 0x1_0000_0000;

let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** `buf` with room for `bytes` more after `p`: the same, or a copy twice the size (kept as the scratch). */
function room(buf: Buffer, p: number, bytes: number): Buffer {
  if (p + bytes <= buf.length) return buf;
  scratch = Buffer.allocUnsafeSlow(Math.max(2 * buf.length, p + bytes));
  buf.copy(scratch, 0, 0, p);
  return scratch;
}

/** A whole number 0 … 2^53 − 1 at `p`, 7 bits a byte, low bits first; returns the position after it. */
function putVarint(buf: Buffer, p: number, v: number): number {
  while (v >= UINT32_LIMIT) {
    const rest = Math.floor(v / 128); // no `%` or bit operators: they would cut v to 32 bits
    buf[p++] = (v - rest * 128) | 0x80;
    v = rest;
  }
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** One field at `p`, where there is room for it; returns the position after it. */
function putField(buf: Buffer, p: number, keyCode: number, value: number | boolean | string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value < UINT32_LIMIT && value > -UINT32_LIMIT && !Object.is(value, -0)) {
      buf[p++] = (keyCode << 3) | (value >= 0 ? UINT : NEG_INT);
      return putVarint(buf, p, value >= 0 ? value : -value - 1);
    }
    buf[p++] = (keyCode << 3) | FLOAT64;
    return buf.writeDoubleLE(value, p);
  }
  if (typeof value === 'boolean') {
    buf[p++] = (keyCode << 3) | (value ? TRUE : FALSE);
    return p;
  }
  const length = Buffer.byteLength(value);
  buf[p++] = (keyCode << 3) | STRING;
  p = putVarint(buf, p, length);
  return p + buf.write(value, p, length, 'utf8');
}

/**
 * The readings of one message, packed against its receipt time `at`. The result is a view
 * of a buffer the next call writes over: copy it first (the outbox does, when appending).
 */
export function packReadings(at: number, readings: readonly ValidReading[]): Buffer {
  let buf: Buffer = scratch;
  let p = 0;
  let lastType: string | undefined;
  let code = 0;
  let keys: readonly string[] = [];
  for (let i = 0; i < readings.length; i++) {
    const { type, ts, fields } = readings[i]!;
    if (type !== lastType) {
      [code, keys] = CODES[type] ?? badReading(`unknown type ${type}`);
      lastType = type;
      // Fields come from the schemas, which a test holds to the code table; checking the
      // first reading of each run makes a table that falls behind fail loudly.
      for (const key in fields) if (!keys.includes(key)) badReading(`${type} has no field ${key}`);
    }
    buf = room(buf, p, 10 + 10 * keys.length); // type, ts, count, then per field a byte and at most 9 more
    buf[p++] = code;
    const d = at - ts;
    if (!Number.isInteger(d) || !Number.isSafeInteger(2 * d)) badReading(`ts ${ts} is not a whole number near ${at}`);
    p = putVarint(buf, p, d >= 0 ? 2 * d : -2 * d - 1);
    const countAt = p++;
    let count = 0;
    // The type's keys in code order, not for…in over the fields: twice as fast here.
    for (let k = 0; k < keys.length; k++) {
      const value = fields[keys[k]!];
      if (value === undefined) continue;
      if (typeof value === 'string') buf = room(buf, p, 6 + Buffer.byteLength(value)); // the room above is for numbers
      p = putField(buf, p, k, value);
      count++;
    }
    buf[countAt] = count;
  }
  return buf.subarray(0, p);
}

/** What `packReadings(at, readings)` packed. Throws on bytes it did not write. */
export function unpackReadings(at: number, bytes: Uint8Array): ValidReading[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const byte = () => (p < view.length ? view[p++]! : badReading('packed readings end early'));
  const varint = () => {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
  };
  const readings: ValidReading[] = [];
  while (p < view.length) {
    const code = byte();
    const kind = byCode[code] ?? badReading(`unknown type code ${code}`);
    const z = varint();
    const half = Math.floor(z / 2);
    const ts = z === 2 * half ? at - half : at + half + 1;
    const fields: ReadingFields = {};
    for (let count = byte(); count > 0; count--) {
      const head = byte();
      const key = kind.keys[head >> 3] ?? badReading(`${kind.type} has no field code ${head >> 3}`);
      switch (head & 7) {
        case UINT: fields[key] = varint(); break;
        case NEG_INT: fields[key] = -varint() - 1; break;
        case FLOAT64:
          if (p + 8 > view.length) badReading('packed readings end early');
          fields[key] = view.readDoubleLE(p);
          p += 8;
          break;
        case FALSE: fields[key] = false; break;
        case TRUE: fields[key] = true; break;
        case STRING: {
          const length = varint();
          if (p + length > view.length) badReading('packed readings end early');
          fields[key] = view.toString('utf8', p, p + length);
          p += length;
          break;
        }
        default: badReading(`unknown value kind ${head & 7}`);
      }
    }
    readings.push({ type: kind.type, ts, fields });
  }
  return readings;
}

function badReading(message: string): never {
  throw new Error(`packed readings: ${message}`);
}
