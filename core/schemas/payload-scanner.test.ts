import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadScanner } from './payload-scanner.js';
import { MAX_BATCH_READINGS, parseReadingsJson, parseReadingsPayload, readingFieldNames, readingTypes, type ParsedPayload } from './readings.js';

const now = Date.UTC(2026, 10, 27, 0, 0, 0);
const scanner = new PayloadScanner(readingFieldNames, MAX_BATCH_READINGS);
const scans = (text: string) => scanner.scan(Buffer.from(text)).count > 0;

/** The two paths give the same readings and errors, field order and the sign of zero included. */
function expectSamePaths(text: string): void {
  const payload = Buffer.from(text);
  const fast = parseReadingsPayload(payload, now);
  const general = parseReadingsJson(payload, now);
  expect(fast, text).toStrictEqual(general);
  const order = (r: ParsedPayload) => r.readings.map((x) => Object.keys(x.fields));
  expect(order(fast), text).toEqual(order(general));
  const signs = (r: ParsedPayload) => r.readings.flatMap((x) => Object.values(x.fields).map((v) => Object.is(v, -0)));
  expect(signs(fast), text).toEqual(signs(general));
}

describe('PayloadScanner', () => {
  it('reads the shapes devices send, single and batch, with any JSON whitespace', () => {
    const single = `{"type":"spo2","spo2":97,"pulse":68,"ts":${now - 1000}}`;
    const batch = ` {\n\t"readings" : [ {"type":"blood_pressure", "systolic":128 ,"diastolic":82,"ts":${now - 5}} ,\r\n{"type":"glucose","mg_dl":104.5,"context":"fasting"} ] } `;
    for (const text of [single, batch]) {
      expect(scans(text), text).toBe(true);
      expectSamePaths(text);
    }
    const result = parseReadingsPayload(Buffer.from(batch), now);
    expect(result.readings).toEqual([
      { type: 'blood_pressure', ts: now - 5, fields: { systolic: 128, diastolic: 82 } },
      { type: 'glucose', ts: now, fields: { mg_dl: 104.5, context: 'fasting' } },
    ]);
  });

  it('reads every reading type of CONTRACT §2', () => {
    for (const type of readingTypes) {
      const fields = readingFieldNames[type].map((name) => `"${name}":${name === 'context' ? '"random"' : ['detected', 'open'].includes(name) ? 'true' : name === 'confidence' ? '0.5' : '60'}`);
      const text = `{"type":"${type}"${fields.map((f) => `,${f}`).join('')},"ts":${now}}`;
      expect(scans(text), text).toBe(true);
      expectSamePaths(text);
    }
  });

  it('gives the errors of the general path for readings it read but the schemas refuse', () => {
    for (const text of [
      `{"readings":[{"type":"spo2","spo2":101},{"type":"heart_rate","bpm":60},{"type":"blood_pressure","systolic":80,"diastolic":90}]}`,
      `{"type":"heart_rate","bpm":60,"ts":${now + 3_600_000}}`,
      `{"type":"steps","count":10.5}`,
      `{"type":"glucose","mg_dl":100,"context":"lunch"}`,
      `{"type":"motion","detected":"yes"}`,
      `{"type":"door","open":1}`,
      `{"type":"spo2"}`,
    ]) {
      expect(scans(text), text).toBe(true);
      expectSamePaths(text);
      expect(parseReadingsPayload(Buffer.from(text), now).errors.length, text).toBeGreaterThan(0);
    }
  });

  it('declines whatever is not the plain shape, and the general path decides it', () => {
    const declined = [
      '', ' ', '[]', 'null', '{}', '{"readings":[]}', '{"readings":{}}',
      `{"ts":${now},"type":"heart_rate","bpm":60}`, // type not first
      '{"type":"heart_rate","bpm":60,"type":"spo2"}', // a second type: JSON.parse keeps the last
      '{"type":"heart_rate","bpm":60,"note":"x"}', // an unknown key, which zod drops
      '{"type":"heart_rate","bpm":60,"__proto__":{"x":1}}',
      '{"type":"heart_rate","bpm":60,"readings":[]}',
      '{"readings":[{"type":"heart_rate","bpm":60}],"extra":1}',
      '{"type":"heart_rate","bpm":6e1}', '{"type":"heart_rate","bpm":60E0}', '{"type":"heart_rate","bpm":060}',
      '{"type":"heart_rate","bpm":-}', '{"type":"heart_rate","bpm":60.}', '{"type":"heart_rate","bpm":.5}', '{"type":"heart_rate","bpm":+60}',
      '{"type":"heart_rate","bpm":1234567890123456}', '{"type":"heart_rate","bpm":0.1234567890123456}',
      '{"type":"heart_rate","bpm":null}', '{"type":"heart_rate","bpm":[60]}', '{"type":"heart_rate","bpm":{"v":60}}',
      '{"type":"heart_rate","bpm":tru}', '{"type":"heart_rate","bpm":60,}', '{"type":"heart_rate","bpm":60}}', '{"type":"heart_rate","bpm":60} x',
      '{"type":"heart\\u005frate","bpm":60}', '{"type":"glucose","mg_dl":90,"context":"fas\\ting"}', '{"type":"glucose","mg_dl":90,"context":"공복"}',
      `{"type":"heart_rate","bpm":60,"ts":"2026-11-27T09:00:00+09:00"}`,
      '{"type":"heart_rate","bpm":60', '{"type":"heart_rate","bpm":6', '{"type":"heart_rate","bpm":"6', '{"type":"heart_rate","bpm":t', '{"type":"heart_rate"', '{"type":"heart_rat',
      '{"type":"heart_rate","bpm":60}\u0000', '\uFEFF{"type":"heart_rate","bpm":60}',
      `{"readings":[${Array.from({ length: MAX_BATCH_READINGS + 1 }, () => '{"type":"sos"}').join(',')}]}`,
    ];
    for (const text of declined) {
      expect(scans(text), text).toBe(false);
      expectSamePaths(text);
    }
  });

  it('reads a batch of exactly the largest size', () => {
    const text = `{"readings":[${Array.from({ length: MAX_BATCH_READINGS }, (_, i) => `{"type":"heart_rate","bpm":${60 + (i % 50)},"ts":${now - i}}`).join(',')}]}`;
    expect(scans(text)).toBe(true);
    expectSamePaths(text);
  });

  it('reads numbers to the same double as JSON.parse', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^-?(0|[1-9][0-9]{0,16})(\.[0-9]{1,16})?$/), (digits) => {
        const text = `{"type":"weight","kg":${digits}}`;
        const read = scanner.scan(Buffer.from(text));
        if (read.count === 0) return; // more than 15 digits: the general path
        expect(Object.is(read.fields[0]!.kg, JSON.parse(digits)), digits).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    // Near the edges of the fast path.
    for (const digits of ['0', '-0', '-0.0', '0.000000000000001', '999999999999999', '-99999999999999.9', '0.1', '0.3', '2.675', '1795802469575', '1795802469575.5']) {
      const read = scanner.scan(Buffer.from(`{"type":"weight","kg":${digits}}`));
      expect(read.count, digits).toBe(1);
      expect(Object.is(read.fields[0]!.kg, JSON.parse(digits)), digits).toBe(true);
    }
  });

  it('agrees with the general path on generated payloads, valid or broken byte by byte', () => {
    const space = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');
    const number = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^-?(0|[1-9][0-9]{0,16})(\.[0-9]{1,16})?$/) },
      { weight: 1, arbitrary: fc.stringMatching(/^-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?[eE][+-]?[0-9]{1,2}$/) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }).map(String) },
      { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)) },
    );
    const ts = fc.oneof(
      fc.integer({ min: -40 * 86_400_000, max: 3_600_000 }).map((d) => String(now + d)),
      fc.constant(`${now - 1000}.5`),
      fc.constant('"2026-11-27T08:59:00+09:00"'),
      number,
    );
    const value = fc.oneof(
      { weight: 6, arbitrary: number },
      { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '[]', '{}', '"fasting"', '"after_meal"', '"x\\"y"', '"é"') },
    );
    const anyKey = fc.constantFrom(...new Set([...Object.values(readingFieldNames).flat(), 'ts', 'type', 'readings', 'note', '__proto__']));
    const reading = fc
      .record({
        type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...readingTypes) }, { weight: 1, arbitrary: fc.constantFrom('heart-rate', 'HEART_RATE', '') }),
        typeFirst: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
        ts: fc.option(ts, { nil: undefined }),
        extra: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(anyKey, value), { maxLength: 2 }) }),
        fieldsOf: fc.array(value, { minLength: 3, maxLength: 3 }),
        w: fc.array(space, { minLength: 8, maxLength: 8 }),
      })
      .map(({ type, typeFirst, ts, extra, fieldsOf, w }) => {
        const names = readingFieldNames[type as keyof typeof readingFieldNames] ?? [];
        const pairs: [string, string][] = names.map((name, i) => [name, fieldsOf[i % 3]!]);
        if (ts !== undefined) pairs.push(['ts', ts]);
        pairs.push(...extra);
        const typePair: [string, string] = ['type', JSON.stringify(type)];
        if (typeFirst) pairs.unshift(typePair);
        else pairs.splice(Math.min(1, pairs.length), 0, typePair);
        return `${w[0]}{${pairs.map(([k, v], i) => `${w[(i % 6) + 1]}"${k}"${w[i % 3]}:${w[(i + 1) % 4]}${v}`).join(',')}${w[7]}}`;
      });
    const payload = fc.oneof(
      reading,
      fc.tuple(fc.array(reading, { minLength: 0, maxLength: 4 }), space).map(([list, w]) => `{${w}"readings"${w}:${w}[${list.join(`,${w}`)}]${w}}`),
    );
    const broken = fc.tuple(payload, fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'{}[]":,. -+0159eE\\tfnu\u0000é')).map(
      ([text, at, how, ch]) => {
        const i = at % (text.length + 1);
        if (how === 'delete') return text.slice(0, i) + text.slice(i + 1);
        if (how === 'insert') return text.slice(0, i) + ch + text.slice(i);
        return text.slice(0, i) + ch + text.slice(i + 1);
      },
    );
    let fastPaths = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 3, arbitrary: payload }, { weight: 1, arbitrary: broken }), (text) => {
        if (scans(text)) fastPaths++;
        expectSamePaths(text);
      }),
      { numRuns: 30_000 },
    );
    // The generator must reach the fast path often, or the property says little about it.
    expect(fastPaths).toBeGreaterThan(3_000);
  });
});
