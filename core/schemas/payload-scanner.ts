/**
 * A scanner for the plain shape nearly every device sends: `{"type":…,fields…,"ts":…}`
 * or `{"readings":[those]}`, with `type` first, only the type's own field names and
 * `ts`, numbers without exponents and with at most 15 digits, ASCII strings without
 * escapes. It reads the bytes straight into each reading's fields object, with none of
 * JSON.parse's general work (a string per value, interned keys, strtod for 13-digit
 * timestamps): V8's JSON parser was the platform's largest cost a reading (~18 %).
 *
 * It declines (`count` 0) at the first byte outside that shape, and the caller then takes
 * the general path (JSON.parse, then the same validation), so it never decides anything
 * JSON.parse would decide differently: a test compares the two on generated payloads.
 * It does not validate values; the caller runs the zod schemas on what it collected.
 */

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

/** A batch, or the single reading, as the scanner found it: one entry per reading. */
export interface ScannedReadings {
  /** 0: declined (take the general path); otherwise the number of readings. */
  count: number;
  batch: boolean;
  types: string[];
  /** NaN when the reading had no `ts` (a typed array: no number boxed a reading). */
  timestamps: Float64Array;
  fields: Record<string, number | boolean | string>[];
}

interface Name {
  text: string;
  bytes: Buffer;
}

// Exact when both parts are: m < 10^15 < 2^53 and 10^k ≤ 10^22, so m / 10^k is the one
// correctly rounded division, the double JSON.parse gives for the same digits.
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_DIGITS + 1 }, (_, k) => 10 ** k);

// Every read is checked against the end first: a load past it gives `undefined`, and code
// that may see one runs at half the speed of code that only ever sees bytes.

/** The byte at `p`, or -1 at the end. */
const byteAt = (buf: Buffer, p: number): number => (p < buf.length ? buf[p]! : -1);

function skipSpace(buf: Buffer, p: number): number {
  for (const end = buf.length; p < end; p++) {
    const c = buf[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
  }
  return p;
}

/** Whether `bytes` lie at `buf[at …]` followed by a closing quote. */
function nameAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (at + n >= buf.length || buf[at + n] !== QUOTE) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

export class PayloadScanner {
  private readonly typeNames: Name[];
  private readonly fieldNames: Name[][]; // by the index of the type in typeNames
  private readonly readingsKey = Buffer.from('readings');
  private readonly tsKey = Buffer.from('ts');
  private readonly typeKey = Buffer.from('type');
  private readonly out: ScannedReadings;
  private lastType = 0;
  // What the value scanners found: positions go back as return values, values through here.
  private number = 0;
  private value: number | boolean | string = 0;

  /** `fieldNamesByType`: each reading type's field names (the schemas decide which are valid). */
  constructor(fieldNamesByType: Readonly<Record<string, readonly string[]>>, private readonly maxReadings: number) {
    const name = (text: string): Name => ({ text, bytes: Buffer.from(text) });
    this.typeNames = Object.keys(fieldNamesByType).map(name);
    this.fieldNames = this.typeNames.map((t) => fieldNamesByType[t.text]!.map(name));
    this.out = { count: 0, batch: false, types: [], timestamps: new Float64Array(maxReadings), fields: [] };
  }

  /**
   * The readings of `payload`, or `count` 0 to decline. The result is reused by the next
   * call: copy what you keep.
   */
  scan(payload: Buffer): ScannedReadings {
    const out = this.out;
    out.count = 0;
    const end = payload.length;
    let p = skipSpace(payload, 0);
    if (byteAt(payload, p) !== OPEN_BRACE) return out;
    const first = skipSpace(payload, p + 1);
    if (byteAt(payload, first) === QUOTE && nameAt(payload, first + 1, this.readingsKey)) {
      p = skipSpace(payload, first + 1 + this.readingsKey.length + 1);
      if (byteAt(payload, p) !== COLON) return out;
      p = skipSpace(payload, p + 1);
      if (byteAt(payload, p) !== OPEN_BRACKET) return out;
      let count = 0;
      for (;;) {
        p = this.reading(payload, skipSpace(payload, p + 1), count);
        if (p < 0) return out;
        count++;
        p = skipSpace(payload, p);
        if (byteAt(payload, p) === COMMA && count < this.maxReadings) continue;
        if (byteAt(payload, p) !== CLOSE_BRACKET) return out;
        break;
      }
      p = skipSpace(payload, p + 1);
      if (byteAt(payload, p) !== CLOSE_BRACE || skipSpace(payload, p + 1) !== end) return out;
      out.batch = true;
      out.count = count;
      return out;
    }
    p = this.reading(payload, p, 0);
    if (p < 0 || skipSpace(payload, p) !== end) return out;
    out.batch = false;
    out.count = 1;
    return out;
  }

  /** One reading object at `p` (its `{`) into slot `slot`; the position after its `}`, or -1. */
  private reading(buf: Buffer, p: number, slot: number): number {
    if (byteAt(buf, p) !== OPEN_BRACE) return -1;
    // "type" first: it says which field names may follow.
    p = skipSpace(buf, p + 1);
    if (byteAt(buf, p) !== QUOTE || !nameAt(buf, p + 1, this.typeKey)) return -1;
    p = skipSpace(buf, p + 1 + this.typeKey.length + 1);
    if (byteAt(buf, p) !== COLON) return -1;
    p = skipSpace(buf, p + 1);
    if (byteAt(buf, p) !== QUOTE) return -1;
    const type = this.typeAt(buf, p + 1);
    if (type < 0) return -1;
    p = skipSpace(buf, p + 1 + this.typeNames[type]!.bytes.length + 1);

    const names = this.fieldNames[type]!;
    const fields: Record<string, number | boolean | string> = {};
    let ts = NaN;
    while (byteAt(buf, p) === COMMA) {
      p = skipSpace(buf, p + 1);
      if (byteAt(buf, p) !== QUOTE) return -1;
      const keyAt = p + 1;
      let key: string | undefined;
      let keyLength: number;
      if (nameAt(buf, keyAt, this.tsKey)) {
        keyLength = this.tsKey.length;
      } else {
        let i = 0;
        while (i < names.length && !nameAt(buf, keyAt, names[i]!.bytes)) i++;
        if (i === names.length) return -1; // an unknown key (or a second "type"): the general path
        key = names[i]!.text;
        keyLength = names[i]!.bytes.length;
      }
      p = skipSpace(buf, keyAt + keyLength + 1);
      if (byteAt(buf, p) !== COLON) return -1;
      p = this.scanValue(buf, skipSpace(buf, p + 1));
      if (p < 0) return -1;
      // A repeated key keeps its last value, as JSON.parse does.
      if (key !== undefined) fields[key] = this.value;
      else if (typeof this.value === 'number') ts = this.value;
      else return -1; // an ISO ts: the general path parses it
      p = skipSpace(buf, p);
    }
    if (byteAt(buf, p) !== CLOSE_BRACE) return -1;
    const out = this.out;
    out.types[slot] = this.typeNames[type]!.text;
    out.timestamps[slot] = ts;
    out.fields[slot] = fields;
    return p + 1;
  }

  /** The index of the type name at `at` (after its opening quote), or -1. */
  private typeAt(buf: Buffer, at: number): number {
    const names = this.typeNames;
    if (nameAt(buf, at, names[this.lastType]!.bytes)) return this.lastType;
    for (let i = 0; i < names.length; i++) {
      if (nameAt(buf, at, names[i]!.bytes)) return (this.lastType = i);
    }
    return -1;
  }

  /** A number, true, false or a plain string at `p` into `value`; the position after it, or -1. */
  private scanValue(buf: Buffer, p: number): number {
    const c = byteAt(buf, p);
    if (c === QUOTE) {
      const start = p + 1;
      for (let i = start; i < buf.length; i++) {
        const b = buf[i]!;
        if (b === QUOTE) {
          this.value = buf.toString('latin1', start, i);
          return i + 1;
        }
        // Escapes, control characters and non-ASCII: the general path.
        if (b < 0x20 || b > 0x7e || b === 0x5c) return -1;
      }
      return -1;
    }
    if (c === 0x74) {
      if (p + 4 > buf.length || buf[p + 1] !== 0x72 || buf[p + 2] !== 0x75 || buf[p + 3] !== 0x65) return -1;
      this.value = true;
      return p + 4;
    }
    if (c === 0x66) {
      if (p + 5 > buf.length || buf[p + 1] !== 0x61 || buf[p + 2] !== 0x6c || buf[p + 3] !== 0x73 || buf[p + 4] !== 0x65) return -1;
      this.value = false;
      return p + 5;
    }
    p = this.scanNumber(buf, p);
    this.value = this.number;
    return p;
  }

  /** A JSON number without exponent, at most 15 digits, into `number`; the position after it, or -1. */
  private scanNumber(buf: Buffer, p: number): number {
    const end = buf.length;
    const negative = byteAt(buf, p) === MINUS;
    if (negative) p++;
    let mantissa = 0;
    let digits = 0;
    if (byteAt(buf, p) === ZERO) {
      p++;
      if (isDigit(byteAt(buf, p))) return -1; // a leading zero: not JSON
    } else if (isDigit(byteAt(buf, p))) {
      for (; p < end && isDigit(buf[p]!); p++, digits++) mantissa = mantissa * 10 + (buf[p]! - ZERO);
    } else {
      return -1;
    }
    let fraction = 0;
    if (byteAt(buf, p) === DOT) {
      p++;
      if (!isDigit(byteAt(buf, p))) return -1;
      for (; p < end && isDigit(buf[p]!); p++, fraction++) mantissa = mantissa * 10 + (buf[p]! - ZERO);
      digits += fraction;
    }
    const c = byteAt(buf, p);
    if (c === 0x65 || c === 0x45 || digits > MAX_DIGITS) return -1;
    const value = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction]!;
    this.number = negative ? -value : value;
    return p;
  }
}

