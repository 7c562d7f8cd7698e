import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, PlatformError, type ErrorCode } from './errors.js';

const docsUrl = new URL('../docs/errors.md', import.meta.url);

/** The rows of the code table in docs/errors.md: `| \`code\` | status | meaning | where |`. */
function documentedRows(): { code: string; http: number; meaning: string; where: string }[] {
  return readFileSync(docsUrl, 'utf8')
    .split('\n')
    .filter((line) => /^\|\s*`[^`]+`\s*\|/.test(line))
    .map((line) => {
      const [code = '', http = '', meaning = '', where = ''] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      return { code: code.replaceAll('`', ''), http: Number(http), meaning, where };
    });
}

const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('docs/errors.md', () => {
  const rows = documentedRows();

  it('documents every code of the registry', () => {
    const documented = new Set(rows.map((r) => r.code));
    expect(codes.filter((code) => !documented.has(code))).toEqual([]);
  });

  it('lists no code the registry does not have', () => {
    expect(rows.map((r) => r.code).filter((code) => !(code in ErrorCodes))).toEqual([]);
  });

  it('lists each code once', () => {
    const seen = rows.map((r) => r.code);
    expect(seen).toHaveLength(new Set(seen).size);
  });

  it.each(codes)('gives %s the HTTP status of the registry, a meaning and where it appears', (code) => {
    const row = rows.find((r) => r.code === code);
    expect(row?.http).toBe(ErrorCodes[code].http);
    expect(row?.meaning).not.toBe('');
    expect(row?.where).toMatch(/MQTT|REST|Socket\.io/);
  });
});

describe('PlatformError', () => {
  it.each(codes)('carries the HTTP status of %s from the registry', (code) => {
    const error = new PlatformError(code);
    expect(error.httpStatus).toBe(ErrorCodes[code].http);
    expect(error.message).toBe(ErrorCodes[code].text);
  });

  it('serialises to the REST body shape, with the field when there is one', () => {
    expect(new PlatformError('bad_request', 'note: required', 'note').toJSON()).toEqual({ error: 'bad_request', message: 'note: required', field: 'note' });
    expect(new PlatformError('not_found', 'no alert a-1').toJSON()).toEqual({ error: 'not_found', message: 'no alert a-1' });
  });

  it('is an Error with its own name, so logs and instanceof checks work', () => {
    const error = new PlatformError('conflict');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PlatformError');
  });

  it('uses only 4xx and 5xx statuses', () => {
    for (const code of codes) expect(ErrorCodes[code].http).toBeGreaterThanOrEqual(400);
  });
});
