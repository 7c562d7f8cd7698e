import { describe, expect, it } from 'vitest';
import { needsV1WritePath, v1WritePath } from './client.js';

describe('needsV1WritePath', () => {
  it.each([
    ['1.6.7~rc0', true], // Debian's influxdb package
    ['1.6.4', true],
    ['1.7.11', true],
    ['v1.7.10', true],
    ['0.13.0', true],
    ['1.8.0', false], // the first release serving /api/v2/write
    ['1.8.10', false],
    ['1.11.8', false],
    ['unknown', false], // no version header: assume a modern server
    ['', false],
  ])('decides that version %j needs the 1.x write path: %s', (version, expected) => {
    expect(needsV1WritePath(version)).toBe(expected);
  });

  it.each(['v2.7.1', '2.7.11', '3.0.0'])('keeps the v2 write path for %s when an org is configured', (version) => {
    expect(needsV1WritePath(version, 'donghaeng-org')).toBe(false);
  });

  it.each(['v2.7.1', '2.7.11'])('falls back to the DBRP-mapped /write for %s when no org is configured', (version) => {
    // /api/v2/write on 2.x needs an org; /write?db= is served through the DBRP mapping.
    expect(needsV1WritePath(version)).toBe(true);
  });

  it('decides for 1.x by the version alone, whether or not an org is given', () => {
    expect(needsV1WritePath('1.6.7~rc0', 'some-org')).toBe(true);
    expect(needsV1WritePath('1.8.10', 'some-org')).toBe(false);
  });
});

describe('v1WritePath', () => {
  it('rewrites the v2 write path to the 1.x one, keeping database and precision', () => {
    expect(v1WritePath('/api/v2/write?org=&bucket=donghaeng&precision=ms')).toBe('/write?db=donghaeng&precision=ms');
  });

  it('does not depend on the order of the query parameters', () => {
    expect(v1WritePath('/api/v2/write?precision=s&bucket=dh_test&org=ignored')).toBe('/write?db=dh_test&precision=s');
  });

  it('defaults to nanosecond precision as InfluxDB does when none is given', () => {
    expect(v1WritePath('/api/v2/write?bucket=donghaeng')).toBe('/write?db=donghaeng&precision=ns');
  });

  it('adds the 1.x credentials as u and p, URL-encoded', () => {
    const path = v1WritePath('/api/v2/write?org=&bucket=donghaeng&precision=ms', { username: 'dh', password: 'p&ss=word' });
    const query = new URLSearchParams(path.slice(path.indexOf('?') + 1));
    expect(path.startsWith('/write?')).toBe(true);
    expect(Object.fromEntries(query)).toEqual({ db: 'donghaeng', precision: 'ms', u: 'dh', p: 'p&ss=word' });
  });

  it.each(['/query?db=donghaeng&q=SHOW+DATABASES', '/ping', '/api/v2/query?org=x'])(
    'leaves %s alone',
    (path) => {
      expect(v1WritePath(path)).toBe(path);
    },
  );
});
