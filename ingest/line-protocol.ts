import { digitsOf, millionsOf, writeDigits } from '../core/digits.js';
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

let lastName = '';
let lastNameBytes: Buffer = Buffer.alloc(0);

function fieldNameOf(name: string): Buffer {
  if (name === lastName) return lastNameBytes; // a batch is mostly of one type
  lastName = name;
  let bytes = fieldNames.get(name);
  if (bytes === undefined) fieldNames.set(name, (bytes = Buffer.from(`${name}=`)));
  lastNameBytes = bytes;
  return bytes;
}

/**
 * Blocks are written straight into slabs of SLAB_BYTES and handed out as views of them:
 * an ArrayBuffer of its own for each message's block cost 2 % of the platform's CPU. The
 * blocks of one request are mostly contiguous in one slab, so the writer sends them without
 * copying (see `joinBlocks`).
 *
 * Slabs are reused. Lines wait for InfluxDB long enough that their slabs reach V8's old
 * generation, and each new slab adds to the "external memory" V8 counts: at ~50 MB of lines
 * a second they started half of the full mark-compacts in the gateway mix (one every ~0.7 s
 * in all, ~20 % of the platform's CPU with the marking on V8's helper threads;
 * docs/decisions.md, "Ingest hot path, fifth pass"). So every block is counted
 * out and back: `readingLines` hands its caller one hold, `retainBlock` adds one and
 * `releaseBlock` gives one back. A slab that is full and has every block back goes to a
 * free list and is written over. A hold never given back only keeps its slab from being
 * reused (the collector frees it as before); giving one back twice could let a slab be
 * written over while something still reads it, so each holder gives back exactly once.
 */
const SLAB_BYTES = 1024 * 1024;
const FREE_SLABS_KEPT = 32; // 32 MiB: the default line budget (200,000 readings) fills ~18 slabs

interface Slab {
  bytes: Buffer;
  holds: number; // holds of its blocks not yet given back
  full: boolean; // no more blocks will be written to it
}

const slabOf = new WeakMap<ArrayBufferLike, Slab>();
const freeSlabs: Slab[] = [];
let current = newSlab(SLAB_BYTES);
let slab = current.bytes; // always current.bytes: the writing functions below use it for every byte
let blockStart = 0; // where the message being written starts in `slab`
let at = 0;

function newSlab(bytes: number): Slab {
  const reused = bytes === SLAB_BYTES ? freeSlabs.pop() : undefined;
  if (reused) {
    reused.full = false;
    return reused;
  }
  const fresh: Slab = { bytes: Buffer.allocUnsafeSlow(bytes), holds: 0, full: false };
  slabOf.set(fresh.bytes.buffer, fresh);
  return fresh;
}

function recycle(s: Slab): void {
  if (s.bytes.length === SLAB_BYTES && freeSlabs.length < FREE_SLABS_KEPT) freeSlabs.push(s);
}

/** One more hold on a block of `readingLines` (anything else is ignored). */
export function retainBlock(block: Buffer): void {
  const s = slabOf.get(block.buffer);
  if (s) s.holds++;
}

/** Gives back one hold on a block of `readingLines` (anything else is ignored). */
export function releaseBlock(block: Buffer): void {
  const s = slabOf.get(block.buffer);
  if (!s) return;
  if (--s.holds === 0 && s.full) recycle(s);
}

/** Room for `bytes` more; a message that does not fit moves, with what is written of it, to a new slab. */
function ensure(bytes: number): void {
  if (at + bytes <= slab.length) return;
  const written = at - blockStart;
  const next = newSlab(Math.max(SLAB_BYTES, 2 * (written + bytes)));
  slab.copy(next.bytes, 0, blockStart, at);
  current.full = true;
  if (current.holds === 0) recycle(current);
  current = next;
  slab = next.bytes;
  blockStart = 0;
  at = written;
}

/** A whole number 0 ≤ value < 2^31 as exactly `width` digits at the write position. */
function writeFixed(value: number, width: number): void {
  writeDigits(slab, at, value, width);
  at += width;
}

// The millions of the last large number written, and their digits: the timestamps of a
// message are mostly within a few seconds, so all but their last six digits repeat.
let lastMillions = -1;
const millionsDigits = Buffer.alloc(16);
let millionsLength = 0;

/**
 * A whole number below 2^53 as decimal digits, the same digits String() gives, without
 * making a string; above 2^31 (every epoch-ms timestamp) in two halves that are small
 * integers, the millions copied while they repeat.
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
  const high = millionsOf(rest);
  if (high !== lastMillions) {
    lastMillions = high;
    millionsLength = digitsOf(high);
    writeDigits(millionsDigits, 0, high, millionsLength);
  }
  for (let i = 0; i < millionsLength; i++) slab[at + i] = millionsDigits[i]!;
  at += millionsLength;
  writeFixed(rest - high * 1e6, 6);
}

/** A number as String() writes it: whole ones byte by byte. */
function writeNumber(value: number): void {
  if (Number.isSafeInteger(value)) writeWhole(value);
  else writeText(String(value));
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
    for (let i = 0; i < nameBytes.length; i++) slab[at + i] = nameBytes[i]!; // a few bytes: a loop beats set()'s call
    at += nameBytes.length;
    // Numbers always as floats (no `i` suffix), so a field keeps one type however a device rounds.
    if (typeof value === 'number') {
      writeNumber(value);
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
    writeNumber(reading.ts);
    slab[at++] = NEWLINE;
  }
  current.holds++;
  return slab.subarray(blockStart, at);
}

/**
 * One request body from blocks in order: a run of blocks that lie next to each other in one
 * slab is one view, not a copy (blocks of consecutive messages usually do).
 */
export function joinBlocks(blocks: readonly Buffer[]): Buffer {
  if (blocks.length === 0) return Buffer.alloc(0);
  const runs: Buffer[] = [];
  let first = 0; // the run is blocks[first … i - 1]
  let end = blocks[0]!.byteOffset + blocks[0]!.length;
  for (let i = 1; i <= blocks.length; i++) {
    const block = blocks[i];
    if (block && block.buffer === blocks[first]!.buffer && block.byteOffset === end) {
      end += block.length;
      continue;
    }
    // One view per run, made when the run ends.
    const start = blocks[first]!;
    runs.push(i - first === 1 ? start : Buffer.from(start.buffer, start.byteOffset, end - start.byteOffset));
    if (block) {
      first = i;
      end = block.byteOffset + block.length;
    }
  }
  return runs.length === 1 ? runs[0]! : Buffer.concat(runs);
}

/** One observation as one line of line protocol, without its `\n`. */
export function toLineProtocol(o: Observation): string {
  const block = readingLines(o, [o]);
  const line = block.toString('utf8', 0, block.length - 1);
  releaseBlock(block);
  return line;
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
