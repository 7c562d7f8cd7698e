import { digitsOf, writeDigits } from '../core/digits.js';
import type { Observation } from '../core/schemas/observation.js';
import type { ReadingFields, ValidReading } from '../core/schemas/readings.js';
import type { DeviceIdentity } from './index.js';

// Line protocol is written by hand, straight into bytes, rather than with the client's
// Point (4.5 µs a reading) or as strings (~500 bytes of garbage a reading, and lines
// waiting for InfluxDB that every scavenge copied): docs/decisions.md "Ingest hot path,
// fourth pass".
// Ids and dong codes are [A-Za-z0-9_-] (core/schemas/registry.ts) and the
// measurement and field names come from the reading schemas, so only string
// field values and unexpected tag characters need escaping.

const TAG_SPECIAL = /[ ,=\\]/;
const escapeTag = (value: string) => (TAG_SPECIAL.test(value) ? value.replace(/([ ,=\\])/g, '\\$1') : value);
const escapeString = (value: string) => value.replace(/(["\\])/g, '\\$1');

const NEWLINE = 0x0a;
const SPACE = 0x20;
const COMMA = 0x2c;
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

/**
 * Blocks are written straight into slabs of SLAB_BYTES and handed out as views of them:
 * an ArrayBuffer of its own for each message's block cost 2 % of the platform's CPU. Blocks
 * leave memory in the order they were written (InfluxDB acknowledged them), so a slab is
 * freed soon after its last block; and the blocks of one request are mostly contiguous in
 * one slab, so the writer sends them without copying (see `joinBlocks`).
 */
const SLAB_BYTES = 1024 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let blockStart = 0; // where the message being written starts in `slab`
let at = 0;

/** Room for `bytes` more; a message that does not fit moves, with what is written of it, to a new slab. */
function ensure(bytes: number): void {
  if (at + bytes <= slab.length) return;
  const written = at - blockStart;
  const next = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (written + bytes)));
  slab.copy(next, 0, blockStart, at);
  slab = next;
  blockStart = 0;
  at = written;
}

/** A whole number 0 ≤ value < 2^31 as exactly `width` digits at the write position. */
function writeFixed(value: number, width: number): void {
  writeDigits(slab, at, value, width);
  at += width;
}

/**
 * A whole number below 2^53 as decimal digits, the same digits String() gives, without
 * making a string; above 2^31 (every epoch-ms timestamp) in two halves that are small integers.
 */
function writeWhole(value: number): void {
  let rest = value;
  if (rest < 0) {
    slab[at++] = MINUS;
    rest = -rest;
  }
  if (rest < 2 ** 31) {
    writeFixed(rest, digitsOf(rest));
    return;
  }
  const low = rest % 1e6;
  const high = (rest - low) / 1e6;
  writeFixed(high, digitsOf(high));
  writeFixed(low, 6);
}

function writeText(text: string): void {
  ensure(Buffer.byteLength(text) + 2);
  at += slab.write(text, at, 'utf8');
}

function writeFields(fields: ReadingFields): void {
  let first = true;
  for (const name in fields) {
    const value = fields[name]!;
    const nameBytes = fieldNameOf(name);
    ensure(nameBytes.length + 24);
    if (!first) slab[at++] = COMMA;
    first = false;
    slab.set(nameBytes, at);
    at += nameBytes.length;
    // Numbers always as floats (no `i` suffix), so a field keeps one type however a device rounds.
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) writeWhole(value);
      else writeText(String(value));
    } else if (typeof value === 'boolean') {
      slab[at++] = value ? 0x74 : 0x66; // t, f
    } else {
      slab[at++] = QUOTE;
      writeText(escapeString(value));
      slab[at++] = QUOTE;
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
  blockStart = at;
  let type = '';
  let head: Buffer = slab; // replaced before its first use: the first reading always changes `type`
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    if (reading.type !== type) head = headOf(device, (type = reading.type));
    ensure(head.length);
    slab.set(head, at);
    at += head.length;
    writeFields(reading.fields);
    ensure(24);
    slab[at++] = SPACE;
    if (Number.isSafeInteger(reading.ts)) writeWhole(reading.ts);
    else writeText(String(reading.ts));
    slab[at++] = NEWLINE;
  }
  return slab.subarray(blockStart, at);
}

/**
 * One request body from blocks in order: a run of blocks that lie next to each other in one
 * slab is one view, not a copy (blocks of consecutive messages usually do).
 */
export function joinBlocks(blocks: readonly Buffer[]): Buffer {
  if (blocks.length === 0) return Buffer.alloc(0);
  const runs: Buffer[] = [];
  let run = blocks[0]!;
  for (let i = 1; i < blocks.length; i++) {
    const block = blocks[i]!;
    if (block.buffer === run.buffer && block.byteOffset === run.byteOffset + run.length) {
      run = Buffer.from(run.buffer, run.byteOffset, run.length + block.length);
    } else {
      runs.push(run);
      run = block;
    }
  }
  runs.push(run);
  return runs.length === 1 ? runs[0]! : Buffer.concat(runs);
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
