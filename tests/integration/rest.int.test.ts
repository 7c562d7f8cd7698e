import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { ADMIN_PASSWORD, startStack, waitFor, type Stack } from '../support/stack.js';

const DONG_A = '1111051500';
const DONG_B = '1111053000';
const HOUR = 3_600_000;

type ErrorBody = { error: string; message: string; field?: string };

/** The staff REST API of CONTRACT §5–6 against the whole platform (real MQTT, real InfluxDB). */
describe('the staff REST API', () => {
  let stack: Stack;
  let residentA: { id: string; dong: string };
  let residentB: { id: string; dong: string };
  let staffA: { username: string; password: string; token: string };
  let staffB: { username: string; password: string; token: string };
  let nurseA: { username: string; password: string; token: string };

  beforeAll(async () => {
    stack = await startStack();
    residentA = await stack.addResident({ dong: DONG_A, displayName: '김영자', inactivityHours: 12, phone: '010-1234-5678' });
    residentB = await stack.addResident({ dong: DONG_B, displayName: '박순자' });
    staffA = await stack.addStaff('staff-a', 'staff', [DONG_A]);
    staffB = await stack.addStaff('staff-b', 'staff', [DONG_B]);
    nurseA = await stack.addStaff('nurse-a', 'nurse', [DONG_A]);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function sos(resident: { id: string }): Promise<Alert> {
    const device = await stack.addDevice(resident.id, 'button');
    const client = await stack.connectDevice(device);
    await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'sos' }), { qos: 1 });
    await client.endAsync();
    return stack.waitForAlert((a) => a.residentId === resident.id && a.kind === 'sos' && a.status === 'open', 'the sos alert');
  }

  describe('sessions', () => {
    it('sets an HttpOnly SameSite=Strict session cookie and returns a token that works as a bearer', async () => {
      const response = await fetch(`${stack.httpUrl}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: staffA.username, password: staffA.password }),
      });
      expect(response.status).toBe(200);
      const cookie = response.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^dh_session=/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      const { token } = (await response.json()) as { token: string };
      const me = await stack.api<{ staff: { username: string } }>('/api/me', { token });
      expect(me.body.staff.username).toBe('staff-a');
      const viaCookie = await fetch(`${stack.httpUrl}/api/alerts`, { headers: { cookie: cookie.split(';')[0]! } });
      expect(viaCookie.status).toBe(200);
    });

    it('refuses calls without a session with 401', async () => {
      expect((await stack.api('/api/alerts')).status).toBe(401);
      expect((await stack.api('/api/residents', { token: 'not-a-session' })).status).toBe(401);
    });

    it('answers 429 after ten wrong passwords for one username, even for the right one, and names when to retry', async () => {
      const victim = await stack.addStaff('throttle-me', 'staff', [DONG_A]);
      for (let i = 0; i < 10; i++) {
        const r = await stack.api<ErrorBody>('/api/login', { body: { username: victim.username, password: `wrong-${i}` } });
        expect(r.status).toBe(401);
      }
      const locked = await fetch(`${stack.httpUrl}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: victim.username, password: victim.password }),
      });
      expect(locked.status).toBe(429);
      expect(((await locked.json()) as ErrorBody).error).toBe('rate_limited');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another username from the same address is not locked out with it.
      expect((await stack.api('/api/login', { body: { username: staffB.username, password: staffB.password } })).status).toBe(200);
    });

    it('counts only failures: many good logins in a row are never throttled', async () => {
      const busy = await stack.addStaff('logs-in-often', 'nurse', [DONG_A]);
      for (let i = 0; i < 14; i++) {
        expect((await stack.api('/api/login', { body: { username: busy.username, password: busy.password } })).status).toBe(200);
      }
    });

    it('forgets earlier failures after a good login', async () => {
      const typo = await stack.addStaff('typo-prone', 'staff', [DONG_A]);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 9; i++) {
          expect((await stack.api('/api/login', { body: { username: typo.username, password: 'almost-right' } })).status).toBe(401);
        }
        expect((await stack.api('/api/login', { body: { username: typo.username, password: typo.password } })).status).toBe(200);
      }
    });
  });

  describe('bad bodies answer 400 naming the field', () => {
    const cases: [string, string, string, unknown, string][] = [
      ['a resident without a name', 'POST', '/api/residents', { dong: DONG_A }, 'displayName'],
      ['a resident with a bad dong code', 'POST', '/api/residents', { displayName: '이말순', dong: '11 11/05' }, 'dong'],
      ['a resident with an unknown field', 'POST', '/api/residents', { displayName: '이말순', dong: DONG_A, nickname: 'x' }, ''],
      ['a device of an unknown kind', 'POST', '/api/devices', { residentId: 'r_x', kind: 'toaster' }, 'kind'],
      ['staff with a short password', 'POST', '/api/staff', { username: 'new-staff', password: 'short', displayName: 'N', role: 'staff', dongs: [DONG_A] }, 'password'],
      ['staff with an unknown role', 'POST', '/api/staff', { username: 'new-staff', password: 'long-enough', displayName: 'N', role: 'boss', dongs: [DONG_A] }, 'role'],
      ['a resident patch with a negative window', 'PATCH', '/api/residents/RESIDENT_A', { inactivityHours: -1 }, 'inactivityHours'],
      ['a staff patch with an empty dong list', 'PATCH', '/api/staff/staff-a', { dongs: [] }, 'dongs'],
    ];
    it.each(cases)('%s', async (_what, method, path, body, field) => {
      const r = await stack.api<ErrorBody>(path.replace('RESIDENT_A', residentA.id), { method, body, token: stack.adminToken });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('bad_request');
      if (field) expect(r.body.field).toBe(field);
    });

    it('a resolve without a known outcome, and an escalation without a note', async () => {
      const alert = await sos(residentA);
      const resolve = await stack.api<ErrorBody>(`/api/alerts/${alert.id}/resolve`, { body: { outcome: 'went_home' }, token: staffA.token });
      expect(resolve.status).toBe(400);
      expect(resolve.body.field).toBe('outcome');
      const escalate = await stack.api<ErrorBody>(`/api/alerts/${alert.id}/escalate`, { body: {}, token: staffA.token });
      expect(escalate.status).toBe(400);
      expect(escalate.body.field).toBe('note');
      await stack.api(`/api/alerts/${alert.id}/resolve`, { body: { outcome: 'false_alarm' }, token: staffA.token });
    });

    it('a query with an unknown reading type or a reversed range', async () => {
      const badType = await stack.api<ErrorBody>(`/api/residents/${residentA.id}/readings?type=mood`, { token: staffA.token });
      expect(badType.status).toBe(400);
      expect(badType.body.field).toBe('type');
      const reversed = await stack.api<ErrorBody>(
        `/api/residents/${residentA.id}/readings?type=spo2&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, { token: staffA.token });
      expect(reversed.status).toBe(400);
      expect(reversed.body.field).toBe('from');
    });

    it('a body that is not JSON (a cross-site form could only send that)', async () => {
      const response = await fetch(`${stack.httpUrl}/api/residents`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${stack.adminToken}` },
        body: JSON.stringify({ displayName: '이말순', dong: DONG_A }),
      });
      expect(response.status).toBe(415);
    });
  });

  describe('roles and scope', () => {
    it('answers 403 to non-admins on every registry route', async () => {
      const calls: [string, string, unknown?][] = [
        ['POST', '/api/residents', { displayName: '이말순', dong: DONG_A }],
        ['PATCH', `/api/residents/${residentA.id}`, { displayName: '이말순' }],
        ['POST', '/api/devices', { residentId: residentA.id, kind: 'button' }],
        ['GET', `/api/devices?residentId=${residentA.id}`],
        ['POST', '/api/staff', { username: 'sneaky', password: 'long-enough', displayName: 'S', role: 'admin', dongs: ['*'] }],
        ['PATCH', `/api/staff/${staffA.username}`, { role: 'admin' }],
        ['GET', '/api/staff'],
      ];
      for (const who of [staffA, nurseA]) {
        for (const [method, path, body] of calls) {
          const r = await stack.api<ErrorBody>(path, { method, body, token: who.token });
          expect(r.status, `${who.username} ${method} ${path}`).toBe(403);
          expect(r.body.error).toBe('forbidden');
        }
      }
    });

    it('answers 404 for residents and alerts outside the scope, exactly as for missing ones', async () => {
      const alert = await sos(residentA);
      const paths: [string, string, unknown?][] = [
        ['GET', `/api/residents/${residentA.id}`],
        ['GET', `/api/residents/${residentA.id}/readings?type=spo2`],
        ['GET', `/api/alerts/${alert.id}`],
        ['POST', `/api/alerts/${alert.id}/ack`, {}],
        ['POST', `/api/alerts/${alert.id}/escalate`, { note: 'x' }],
        ['POST', `/api/alerts/${alert.id}/resolve`, { outcome: 'visited' }],
        ['POST', `/api/alerts/${alert.id}/note`, { note: 'x' }],
      ];
      for (const [method, path, body] of paths) {
        const outOfScope = await stack.api<ErrorBody>(path, { method, body, token: staffB.token });
        expect(outOfScope.status, `${method} ${path}`).toBe(404);
        expect(outOfScope.body.error).toBe('not_found');
      }
      expect((await stack.api('/api/residents/r_does_not_exist', { token: staffB.token })).status).toBe(404);
      // Nothing of dong A in B's lists, even when asked for by name.
      expect((await stack.alerts(staffB.token)).some((a) => a.dong === DONG_A)).toBe(false);
      expect(await stack.alerts(staffB.token, `?dong=${DONG_A}`)).toEqual([]);
      const residents = await stack.api<{ residents: { id: string }[] }>('/api/residents', { token: staffB.token });
      expect(residents.body.residents.map((r) => r.id)).toEqual([residentB.id]);
      // The alert was untouched by B's attempts.
      expect((await stack.api<Alert>(`/api/alerts/${alert.id}`, { token: staffA.token })).body.status).toBe('open');
      await stack.api(`/api/alerts/${alert.id}/resolve`, { body: { outcome: 'false_alarm' }, token: staffA.token });
    });

    it('lets staff and nurses act on alerts in their dongs, every action kept in the history', async () => {
      const alert = await sos(residentA);
      const ack = await stack.api<Alert>(`/api/alerts/${alert.id}/ack`, { body: { note: '확인함' }, token: staffA.token });
      expect(ack.body.status).toBe('acknowledged');
      expect((await stack.api<ErrorBody>(`/api/alerts/${alert.id}/ack`, { body: {}, token: staffA.token })).status).toBe(409);
      await stack.api(`/api/alerts/${alert.id}/note`, { body: { note: '전화 시도 — 응답 없음' }, token: nurseA.token });
      await stack.api(`/api/alerts/${alert.id}/escalate`, { body: { note: '방문 필요' }, token: staffA.token });
      const resolved = await stack.api<Alert>(`/api/alerts/${alert.id}/resolve`, { body: { outcome: 'visited', note: '괜찮으심' }, token: nurseA.token });
      expect(resolved.body.status).toBe('resolved');
      expect(resolved.body.history.map((h) => [h.action, h.by])).toEqual(expect.arrayContaining([
        ['acknowledged', 'staff-a'], ['note', 'nurse-a'], ['escalated', 'staff-a'], ['resolved', 'nurse-a'],
      ]));
      expect((await stack.alerts(staffA.token)).some((a) => a.id === alert.id)).toBe(false);
      expect((await stack.alerts(staffA.token, '?status=resolved')).some((a) => a.id === alert.id)).toBe(true);
    });

    it("filters the alert list by resident, still within the caller's scope", async () => {
      const other = await stack.addResident({ dong: DONG_A, displayName: '이말순' });
      const [mine, theirs] = [await sos(residentA), await sos(other)];
      const listed = await stack.alerts(staffA.token, `?residentId=${residentA.id}`);
      expect(listed.map((a) => a.id)).toContain(mine.id);
      expect(listed.every((a) => a.residentId === residentA.id)).toBe(true);
      expect(listed.some((a) => a.id === theirs.id)).toBe(false);
      // Another dong's staff asking for A's resident get an empty list, not A's alerts.
      expect(await stack.alerts(staffB.token, `?residentId=${residentA.id}`)).toEqual([]);
      expect((await stack.api<ErrorBody>('/api/alerts?residentId=a/b', { token: staffA.token })).status).toBe(400);
      for (const a of [mine, theirs]) await stack.api(`/api/alerts/${a.id}/resolve`, { body: { outcome: 'false_alarm' }, token: staffA.token });
    });
  });

  describe('the registry (admin)', () => {
    it('patches a resident without resetting the fields the patch leaves out', async () => {
      const r = await stack.api<{ displayName: string; inactivityHours: number; enabled: boolean; phone: string }>(
        `/api/residents/${residentA.id}`, { method: 'PATCH', body: { displayName: '김영자 어르신' }, token: stack.adminToken });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ displayName: '김영자 어르신', inactivityHours: 12, enabled: true, phone: '010-1234-5678' });
      const missing = await stack.api('/api/residents/r_nobody', { method: 'PATCH', body: { displayName: 'x' }, token: stack.adminToken });
      expect(missing.status).toBe(404);
    });

    it('returns a device secret once, lists devices without it, and disables a device by PATCH', async () => {
      const created = await stack.api<{ id: string; secret: string; kind: string }>('/api/devices', {
        body: { residentId: residentA.id, kind: 'thermometer' }, token: stack.adminToken });
      expect(created.status).toBe(201);
      expect(created.body.secret).toMatch(/.{20,}/);
      const list = await stack.api<{ devices: Record<string, unknown>[] }>(`/api/devices?residentId=${residentA.id}`, { token: stack.adminToken });
      const listed = list.body.devices.find((d) => d.id === created.body.id)!;
      expect(listed).toMatchObject({ kind: 'thermometer', enabled: true, status: { connectivity: 'unknown' } });
      expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
      const patched = await stack.api<{ enabled: boolean }>(`/api/devices/${created.body.id}`, { method: 'PATCH', body: { enabled: false }, token: stack.adminToken });
      expect(patched.body.enabled).toBe(false);
      // A disabled device is refused at CONNECT.
      await expect(stack.connectDevice(created.body)).rejects.toThrow();
    });

    it('lists staff without password hashes, and a new scope takes effect at once', async () => {
      const list = await stack.api<{ staff: Record<string, unknown>[] }>('/api/staff', { token: stack.adminToken });
      expect(list.body.staff.map((s) => s.username)).toEqual(expect.arrayContaining(['admin', 'staff-a', 'staff-b', 'nurse-a']));
      expect(JSON.stringify(list.body)).not.toMatch(/scrypt|password/i);

      const mover = await stack.addStaff('mover', 'staff', [DONG_B]);
      expect((await stack.api(`/api/residents/${residentA.id}`, { token: mover.token })).status).toBe(404);
      const patched = await stack.api<{ dongs: string[]; displayName: string }>('/api/staff/mover', {
        method: 'PATCH', body: { dongs: [DONG_A, DONG_B], displayName: '이동 담당' }, token: stack.adminToken });
      expect(patched.body).toMatchObject({ dongs: [DONG_A, DONG_B], displayName: '이동 담당' });
      expect((await stack.api(`/api/residents/${residentA.id}`, { token: mover.token })).status).toBe(200);
    });

    it('ends every session of a staff member whose password is reset', async () => {
      const s = await stack.addStaff('forgetful', 'nurse', [DONG_A]);
      expect((await stack.api('/api/alerts', { token: s.token })).status).toBe(200);
      const r = await stack.api('/api/staff/forgetful', { method: 'PATCH', body: { password: 'a-new-password' }, token: stack.adminToken });
      expect(r.status).toBe(200);
      expect((await stack.api('/api/alerts', { token: s.token })).status).toBe(401);
      expect((await stack.api('/api/login', { body: { username: 'forgetful', password: s.password } })).status).toBe(401);
      await stack.login('forgetful', 'a-new-password');
    });

    it('keeps the last administrator an administrator', async () => {
      const r = await stack.api<ErrorBody>('/api/staff/admin', { method: 'PATCH', body: { role: 'staff' }, token: stack.adminToken });
      expect(r.status).toBe(409);
      expect(r.body.field).toBe('role');
      await stack.login('admin', ADMIN_PASSWORD);
      expect((await stack.api('/api/staff/nobody', { method: 'PATCH', body: { displayName: 'x' }, token: stack.adminToken })).status).toBe(404);
    });
  });

  describe('residents', () => {
    it('shows the effective vital bands: the resident\'s overrides over the defaults', async () => {
      const r = await stack.addResident({ dong: DONG_A, displayName: '최복례', vitalBands: { spo2: { lowCritical: 88, lowWarning: 90 } } });
      const detail = await stack.api<{ bands: Record<string, Record<string, number>>; vitalBands: unknown }>(`/api/residents/${r.id}`, { token: nurseA.token });
      expect(detail.body.bands.spo2).toEqual({ lowCritical: 88, lowWarning: 90 });
      expect(detail.body.bands.heart_rate).toMatchObject({ lowCritical: 40, highCritical: 131 });
      expect(detail.body.vitalBands).toEqual({ spo2: { lowCritical: 88, lowWarning: 90 } });
    });

    it('reads a resident\'s history from InfluxDB by type and time range, oldest first', async () => {
      const r = await stack.addResident({ dong: DONG_A, displayName: '정말례' });
      const device = await stack.addDevice(r.id, 'pulse_oximeter');
      const now = Date.now();
      const readings = Array.from({ length: 48 }, (_, i) => ({ type: 'spo2', spo2: 95 + (i % 4), pulse: 70 + (i % 5), ts: now - (48 - i) * HOUR / 2 }));
      const client = await stack.connectDevice(device);
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ readings }), { qos: 1 });
      await client.publishAsync(`dh/v1/devices/${device.id}/status`, JSON.stringify({ online: true, battery: 64 }), { qos: 1, retain: true });
      await client.endAsync();

      type Readings = { readings: { ts: number; spo2: number; pulse: number; device: string }[]; truncated: boolean };
      let all: Readings | undefined;
      await waitFor(async () => {
        all = (await stack.api<Readings>(`/api/residents/${r.id}/readings?type=spo2`, { token: staffA.token })).body;
        return all.readings.length === 48;
      }, 15_000, 'the readings in InfluxDB');
      expect(all!.readings.map((x) => x.ts)).toEqual(readings.map((x) => x.ts));
      expect(all!.readings[0]).toMatchObject({ spo2: 95, pulse: 70, device: device.id });
      expect(all!.truncated).toBe(false);

      const from = new Date(now - 6 * HOUR).toISOString();
      const to = new Date(now - 2 * HOUR).toISOString();
      const window = await stack.api<Readings>(`/api/residents/${r.id}/readings?type=spo2&from=${from}&to=${to}`, { token: staffA.token });
      const expected = readings.filter((x) => x.ts >= now - 6 * HOUR && x.ts <= now - 2 * HOUR).map((x) => x.ts);
      expect(window.body.readings.map((x) => x.ts)).toEqual(expected);
      const none = await stack.api<Readings>(`/api/residents/${r.id}/readings?type=glucose`, { token: staffA.token });
      expect(none.body.readings).toEqual([]);

      const detail = await stack.api<{ devices: { id: string; status: { connectivity: string; battery: number | null } }[] }>(
        `/api/residents/${r.id}`, { token: staffA.token });
      expect(detail.body.devices.find((d) => d.id === device.id)!.status).toMatchObject({ connectivity: 'online', battery: 64 });
    });

    it('leaves out a point InfluxDB shows half-written, and keeps one without an optional field', async () => {
      const r = await stack.addResident({ dong: DONG_A, displayName: '윤점순' });
      const now = Date.now();
      const tags = `device=d_half,dong=${DONG_A},resident=${r.id},type=spo2`;
      // What a query sees while a write is in flight: pulse visible, spo2 not yet (influxdata/influxdb#8546).
      await stack.platform.influx.writeLines(Buffer.from(
        `spo2,${tags} spo2=96,pulse=71 ${now - 3000}\nspo2,${tags} pulse=72 ${now - 2000}\nspo2,${tags} spo2=95 ${now - 1000}\n`,
      ));
      const r1 = await stack.api<{ readings: { ts: number; spo2: number; pulse?: number | null }[] }>(`/api/residents/${r.id}/readings?type=spo2`, { token: staffA.token });
      expect(r1.body.readings.map((x) => [x.ts, x.spo2, x.pulse])).toEqual([[now - 3000, 96, 71], [now - 1000, 95, null]]);
    });

    it('lists open and recently resolved alerts of the resident on their page', async () => {
      const r = await stack.addResident({ dong: DONG_A, displayName: '한옥순' });
      const first = await sos(r);
      await stack.api(`/api/alerts/${first.id}/resolve`, { body: { outcome: 'phoned' }, token: staffA.token });
      const second = await sos(r);
      const detail = await stack.api<{ openAlerts: Alert[]; recentAlerts: Alert[] }>(`/api/residents/${r.id}`, { token: staffA.token });
      expect(detail.body.openAlerts.map((a) => a.id)).toEqual([second.id]);
      expect(detail.body.recentAlerts.map((a) => [a.id, a.outcome])).toEqual([[first.id, 'phoned']]);
    });
  });
});
