import type { Observation } from '../core/schemas/observation.js';
import type { ReadingFields, ValidReading } from '../core/schemas/readings.js';
import type { DeviceIdentity } from './index.js';

// Line protocol is written by hand, straight into bytes, rather than with the client's
// Point (4.5 µs a reading) or as strings (0.3 µs, and ~500 bytes of garbage a reading
// that the scavenger then copied while the lines waited for InfluxDB): see
// docs/decisions.md "Line protocol as bytes".
// Ids and dong codes are [A-Za-z0-9_-] (core/schemas/registry.ts) and the
// measurement and field names come from the reading schemas, so only string
// field values and unexpected tag characters need escaping.

const TAG_SPECIAL = /[ ,=\\]/;
const escapeTag = (value: string) => (TAG_SPECIAL.test(value) ? value.replace(/([ ,=\\])/g, '\\$1') : value);
const escapeString = (value: string) => value.replace(/(["\\])/g, '\\$1');

const NEWLINE = 0x0a;
const SPACE = 0x20;
const COMMA = 0x2c;
const ZERO = 0x30;
const MINUS = 0x2d;
const QUOTE = 0x22;

/** The tag set shared by every reading of one device, sorted by key as InfluxDB stores them. */
export function tagPrefix(device: DeviceIdentity): string {
  return `,device=${escapeTag(device.deviceId)},dong=${escapeTag(device.dong)},resident=${escapeTag(device.residentId)},type=`;
}

// Per identity object and reading type, `<type><tags><type> ` as bytes. The broker makes one
// identity per connection at CONNECT and never changes it, so a device's tags are escaped
// once, not for every message.
const heads = new WeakMap<DeviceIdentity, Map<string, Buffer>>();
const fieldNames = new Map<string, Buffer>(); // `name=`

function headOf(device: DeviceIdentity, type: string): Buffer {
  let byType = heads.get(device);
  if (byType === undefined) heads.set(device, (byType = new Map()));
  let head = byType.get(type);
  if (head === undefined) byType.set(type, (head = Buffer.from(`${type}${tagPrefix(device)}${type} `)));
  return head;
}

function fieldNameOf(name: string): Buffer {
  let bytes = fieldNames.get(name);
  if (bytes === undefined) fieldNames.set(name, (bytes = Buffer.from(`${name}=`)));
  return bytes;
}

/** Where lines are written before each message's block is copied out; grows when a message needs more. */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
let at = 0;

function ensure(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + bytes));
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
}

/**
 * A whole number below 2^53 as decimal digits, the same digits String() gives, without
 * making a string. Digits are produced backwards from the end of their room.
 */
function writeWhole(value: number): void {
  let rest = value;
  if (rest < 0) {
    scratch[at++] = MINUS;
    rest = -rest;
  }
  let digits = 1;
  for (let bound = 10; bound <= rest; bound *= 10) digits++;
  let i = at + digits;
  at = i;
  do {
    const next = Math.floor(rest / 10);
    scratch[--i] = ZERO + (rest - next * 10);
    rest = next;
  } while (rest > 0);
}

function writeText(text: string): void {
  ensure(Buffer.byteLength(text) + 2);
  at += scratch.write(text, at, 'utf8');
}

function writeFields(fields: ReadingFields): void {
  let first = true;
  for (const name in fields) {
    const value = fields[name]!;
    const nameBytes = fieldNameOf(name);
    ensure(nameBytes.length + 24);
    if (!first) scratch[at++] = COMMA;
    first = false;
    scratch.set(nameBytes, at);
    at += nameBytes.length;
    // Numbers always as floats (no `i` suffix), so a field keeps one type however a device rounds.
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) writeWhole(value);
      else writeText(String(value));
    } else if (typeof value === 'boolean') {
      scratch[at++] = value ? 0x74 : 0x66; // t, f
    } else {
      scratch[at++] = QUOTE;
      writeText(escapeString(value));
      scratch[at++] = QUOTE;
    }
  }
  // Events without fields (sos, checkin_button) still need one field to be a point.
  if (first) writeText('event=t');
}

/**
 * The readings of one message as line protocol in bytes: one point each
 * (measurement = type; tags device/dong/resident/type; timestamp in ms,
 * CONTRACT §3), every line ending in `\n`, so blocks concatenate into one
 * request body as they are.
 */
export function readingLines(device: DeviceIdentity, readings: readonly ValidReading[]): Buffer {
  at = 0;
  let type = '';
  let head: Buffer = scratch; // replaced before its first use: the first reading always changes `type`
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    if (reading.type !== type) head = headOf(device, (type = reading.type));
    ensure(head.length);
    scratch.set(head, at);
    at += head.length;
    writeFields(reading.fields);
    ensure(24);
    scratch[at++] = SPACE;
    if (Number.isSafeInteger(reading.ts)) writeWhole(reading.ts);
    else writeText(String(reading.ts));
    scratch[at++] = NEWLINE;
  }
  const block = Buffer.allocUnsafe(at);
  scratch.copy(block, 0, 0, at);
  return block;
}

/** One observation as one line of line protocol, without its `\n`. */
export function toLineProtocol(o: Observation): string {
  const block = readingLines(o, [o]);
  return block.toString('utf8', 0, block.length - 1);
}

/** A block's lines, each still ending in `\n` (to find which one InfluxDB refused). */
export function splitLines(block: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < block.length) {
    let end = block.indexOf(NEWLINE, start);
    end = end < 0 ? block.length : end + 1;
    lines.push(block.subarray(start, end));
    start = end;
  }
  return lines;
}
