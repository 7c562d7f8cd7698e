import type { Browser, BrowserContext, Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { launchChromium } from '../support/browser.js';
import { startCutProxy, type CutProxy } from '../support/cut-proxy.js';
import { ADMIN_PASSWORD, startStack, waitFor, type Stack } from '../support/stack.js';

const DONG_A = '1111051500';
const DONG_B = '1111053000';
const HOUR = 3_600_000;

type StaffLogin = { username: string; password: string; token: string };

/** The console in a real Chromium (Debian's, via playwright-core) against the whole platform. */
describe('the live console in a real Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let proxy: CutProxy;
  let staffA: StaffLogin;
  let nurseA: StaffLogin;
  let staffB: StaffLogin;
  const contexts: BrowserContext[] = [];
  // Uncaught page errors and console errors (CSP violations show up there); HTTP errors the
  // tests provoke on purpose (404 out of scope, 400 bad input) are logged by Chromium too and are not problems.
  const problems: string[] = [];

  beforeAll(async () => {
    // One after the other: if Chromium fails to start, afterAll still closes the stack (and its influxd).
    stack = await startStack();
    browser = await launchChromium();
    proxy = await startCutProxy(stack.platform.ports.http);
    staffA = await stack.addStaff('staff-a', 'staff', [DONG_A]);
    nurseA = await stack.addStaff('nurse-a', 'nurse', [DONG_A]);
    staffB = await stack.addStaff('staff-b', 'staff', [DONG_B]);
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await stack?.close();
  });

  /** A fresh browser context (own cookies) logged in as the given user; Korean, by default in Seoul. */
  async function logIn(user: { username: string; password: string }, { baseUrl = stack.httpUrl, timezoneId = 'Asia/Seoul' } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ko-KR', timezoneId });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`${user.username}: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${user.username}: ${msg.text()}`);
    });
    await page.goto(baseUrl);
    await page.fill('[name=username]', user.username);
    await page.fill('[name=password]', user.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#connection[data-state=connected]', { timeout: 15_000 });
    return page;
  }

  async function device(residentId: string, kind: Parameters<Stack['addDevice']>[1]) {
    const d = await stack.addDevice(residentId, kind);
    const client = await stack.connectDevice(d);
    return {
      id: d.id,
      publish: (reading: unknown) => client.publishAsync(`dh/v1/devices/${d.id}/readings`, JSON.stringify(reading), { qos: 1 }),
      end: () => client.endAsync(),
    };
  }

  async function alertOf(residentId: string, kind: string): Promise<Alert> {
    return stack.waitForAlert((a) => a.residentId === residentId && a.kind === kind, `the ${kind} alert over REST`);
  }

  function consoleSocket(token: string): { socket: Socket; alerts: Alert[] } {
    const alerts: Alert[] = [];
    const socket = io(`${stack.httpUrl}/console`, { auth: { token }, transports: ['websocket'], forceNew: true });
    socket.on('alert', (a: Alert) => alerts.push(a));
    return { socket, alerts };
  }

  it('shows a dong A SOS to dong A staff within 2 s of the publish; a nurse sees the acknowledgement; dong B sees nothing of it', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '김영자' });
    const residentB = await stack.addResident({ dong: DONG_B, displayName: '박순자' });
    const page = await logIn(staffA);
    const nursePage = await logIn(nurseA);
    const pageB = await logIn(staffB);
    const socketB = consoleSocket(staffB.token);
    await waitFor(() => socketB.socket.connected, 5000, 'dong B\'s socket');
    const button = await device(resident.id, 'button');

    const published = Date.now();
    await button.publish({ type: 'sos' });
    const card = page.locator('#board [data-kind=sos][data-severity=critical]');
    // Bounded: the card must be there within 2 s of the publish (no reload in between).
    await card.waitFor({ timeout: Math.max(1, 2000 - (Date.now() - published)) });
    await button.end();
    await expect(card.locator('.name').textContent()).resolves.toBe('김영자');
    await expect(page.title()).resolves.toContain('(긴급)');
    await expect(page.locator('#nav-critical').textContent()).resolves.toBe('긴급 1');
    const alertId = (await card.getAttribute('data-alert-id'))!;

    await card.locator('[data-action=ack]').click();
    await page.locator(`#board [data-alert-id="${alertId}"][data-status=acknowledged]`).waitFor({ timeout: 5000 });
    const acked = await stack.api<Alert>(`/api/alerts/${alertId}`, { token: staffA.token });
    expect(acked.body.history.some((h) => h.action === 'acknowledged' && h.by === 'staff-a')).toBe(true);

    // The nurse of the dong sees it live, acknowledged, and the entry in its history.
    const nurseCard = nursePage.locator(`#board [data-alert-id="${alertId}"][data-status=acknowledged]`);
    await nurseCard.waitFor({ timeout: 5000 });
    await nurseCard.click();
    const entry = nursePage.locator('#detail [data-history-action=acknowledged]');
    await entry.waitFor({ timeout: 5000 });
    await expect(entry.textContent()).resolves.toContain('staff-a');

    // Dong B: a marker alert of their own arrives live, and A's never did — on the page or the socket.
    const buttonB = await device(residentB.id, 'button');
    await buttonB.publish({ type: 'sos' });
    await buttonB.end();
    await pageB.locator('#board [data-kind=sos]').waitFor({ timeout: 5000 });
    await waitFor(() => socketB.alerts.some((a) => a.residentId === residentB.id), 5000, 'B\'s own alert on B\'s socket');
    expect(await pageB.locator('#board [data-alert-id]').count()).toBe(1);
    expect(await pageB.locator(`[data-alert-id="${alertId}"]`).count()).toBe(0);
    expect(await pageB.content()).not.toContain('김영자');
    expect(socketB.alerts.filter((a) => a.dong !== DONG_B)).toEqual([]);
    // …nor over REST or the socket when asked for it by id.
    expect((await stack.api(`/api/alerts/${alertId}`, { token: staffB.token })).status).toBe(404);
    expect((await stack.api(`/api/residents/${resident.id}`, { token: staffB.token })).status).toBe(404);
    expect(await socketB.socket.timeout(5000).emitWithAck('ack', { id: alertId })).toMatchObject({ ok: false, error: 'not_found' });
    // …nor by typing the resident's address into B's console.
    await pageB.goto(`${stack.httpUrl}/#/residents/${resident.id}`);
    await expect(pageB.locator('#resident-view .banner').textContent({ timeout: 5000 })).resolves.toContain('찾을 수 없습니다');
    socketB.socket.disconnect();
    expect(problems).toEqual([]);
  });

  it('shows both alerts that happened while the connection was cut once it is back, without a reload', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '이말순' });
    const oximeter = await device(resident.id, 'pulse_oximeter');
    const band = await device(resident.id, 'smart_band');
    const page = await logIn(staffA, { baseUrl: proxy.url });
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    proxy.cut();
    // At once when the browser sees the connection close; within the 20 s heartbeat when it does not.
    await page.locator('#connection[data-state=disconnected]').waitFor({ timeout: 25_000 });
    await expect(page.locator('#connection .conn-label').textContent()).resolves.toBe('연결 끊김 — 재연결 중');

    await oximeter.publish({ type: 'spo2', spo2: 86 });
    await band.publish({ type: 'fall', confidence: 0.9 });
    await Promise.all([oximeter.end(), band.end()]);
    const [low, fall] = await Promise.all([alertOf(resident.id, 'abnormal_vital'), alertOf(resident.id, 'fall')]);
    expect(await page.locator(`[data-alert-id="${low.id}"], [data-alert-id="${fall.id}"]`).count()).toBe(0);

    proxy.restore();
    await page.locator('#connection[data-state=connected]').waitFor({ timeout: 20_000 });
    await page.locator(`#board [data-alert-id="${low.id}"]`).waitFor({ timeout: 5000 });
    await page.locator(`#board [data-alert-id="${fall.id}"]`).waitFor({ timeout: 5000 });
    await expect(page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).resolves.toBe(true);
    // The cut itself logs failed connections; nothing else may have gone wrong.
    expect(problems.filter((p) => !/ERR_CONNECTION|ERR_EMPTY_RESPONSE|WebSocket/.test(p))).toEqual([]);
    problems.length = 0;
  });

  it('shows a connection that died without a word as cut, within the heartbeat, and recovers when it is back', async () => {
    const page = await logIn(staffA, { baseUrl: proxy.url });
    proxy.freeze(); // no FIN, no RST: only the missing heartbeat tells
    await page.locator('#connection[data-state=disconnected]').waitFor({ timeout: 30_000 });
    proxy.restore();
    await page.locator('#connection[data-state=connected]').waitFor({ timeout: 30_000 });
    expect(problems.filter((p) => !/ERR_CONNECTION|ERR_EMPTY_RESPONSE|WebSocket/.test(p))).toEqual([]);
    problems.length = 0;
  });

  it('renders a resident named like markup as text: no element, no script', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const resident = await stack.addResident({ dong: DONG_A, displayName: name });
    const page = await logIn(staffA);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const button = await device(resident.id, 'button');
    await button.publish({ type: 'sos' });
    await button.end();

    const card = page.locator(`#board [data-kind=sos]:has-text("${name}")`);
    await card.waitFor({ timeout: 10_000 });
    await expect(card.locator('.name').textContent()).resolves.toBe(name);
    await card.click();
    await expect(page.locator('#detail .name').textContent()).resolves.toBe(name);
    await page.goto(`${stack.httpUrl}/#/residents`);
    await expect(page.locator(`#residents-view [data-resident-id="${resident.id}"] .name`).textContent()).resolves.toBe(name);
    await page.goto(`${stack.httpUrl}/#/residents/${resident.id}`);
    await expect(page.locator('#resident-view .resident-name').textContent({ timeout: 10_000 })).resolves.toBe(name);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('takes an alert off the open board when resolved with outcome "visited", and keeps it on the resident page', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '최복례' });
    const page = await logIn(staffA);
    const thermometer = await device(resident.id, 'thermometer');
    await thermometer.publish({ type: 'temperature', celsius: 38.4 });
    await thermometer.end();
    const alert = await alertOf(resident.id, 'abnormal_vital');
    const card = page.locator(`#board [data-alert-id="${alert.id}"]`);
    await card.waitFor({ timeout: 10_000 });
    await expect(card.locator('.reason').textContent()).resolves.toBe('체온 38.4℃ (기준 37.8℃ 이상)');

    await card.locator('[data-action=resolve]').click();
    await card.locator('select[name=outcome]').selectOption('visited');
    await card.locator('textarea[name=note]').fill('방문 — 해열제 복용, 안정');
    await card.locator('form button[type=submit]').click();
    await card.waitFor({ state: 'detached', timeout: 5000 });

    const resolved = await stack.api<Alert>(`/api/alerts/${alert.id}`, { token: staffA.token });
    expect(resolved.body).toMatchObject({ status: 'resolved', outcome: 'visited' });
    expect((await stack.alerts(staffA.token)).some((a) => a.id === alert.id)).toBe(false);

    await page.goto(`${stack.httpUrl}/#/residents/${resident.id}`);
    const past = page.locator(`[data-section=past-alerts] [data-alert-id="${alert.id}"]`);
    await past.waitFor({ timeout: 10_000 });
    await expect(past.textContent()).resolves.toContain('방문 확인');
    expect(problems).toEqual([]);
  });

  it('draws the resident\'s vital signs from InfluxDB history, with their bands, for the chosen range', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '정옥자', vitalBands: { spo2: { lowCritical: 90, lowWarning: 92 } } });
    const oximeter = await device(resident.id, 'pulse_oximeter');
    const now = Date.now();
    // 40 readings over the last 3 days, 12 of them within the last 24 hours.
    const readings = Array.from({ length: 40 }, (_, i) => ({ type: 'spo2', spo2: 95 + (i % 4), pulse: 70 + (i % 7), ts: now - (72 * HOUR * (40 - i)) / 40 + 60_000 }));
    await oximeter.publish({ readings });
    await oximeter.end();
    const inDay = readings.filter((r) => r.ts >= now - 24 * HOUR).length;
    await waitFor(async () => {
      const r = await stack.api<{ readings: unknown[] }>(`/api/residents/${resident.id}/readings?type=spo2`, { token: staffA.token });
      return r.body.readings.length === readings.length;
    }, 15_000, 'the readings in InfluxDB');

    const page = await logIn(nurseA);
    await page.goto(`${stack.httpUrl}/#/residents/${resident.id}`);
    await page.locator('#vitals[data-state=ready]').waitFor({ timeout: 15_000 });
    const spo2 = page.locator('[data-chart=spo2]');
    await expect(spo2.getAttribute('data-points')).resolves.toBe('40');
    await expect(spo2.getAttribute('data-band-lines')).resolves.toBe('2'); // the resident's own lowCritical and lowWarning
    expect(await spo2.locator('canvas').count()).toBeGreaterThan(0);
    // Heart rate comes with the SpO2 readings as pulse.
    await expect(page.locator('[data-chart=heart_rate]').getAttribute('data-points')).resolves.toBe('40');

    await page.locator('[data-range="24h"]').click();
    await page.locator(`[data-chart=spo2][data-points="${inDay}"]`).waitFor({ timeout: 10_000 });
    expect(inDay).toBeLessThan(40);
    await expect(page.locator('[data-section=devices] [data-connectivity=online]').count()).resolves.toBe(1);
    expect(problems).toEqual([]);
  });

  it('lets an admin register a resident, a device (secret shown once) and staff who can then log in', async () => {
    const page = await logIn({ username: 'admin', password: ADMIN_PASSWORD });
    await page.locator('#nav [data-nav=admin]').click();
    const residentForm = page.locator('form[data-admin=resident]');
    await residentForm.waitFor();
    await residentForm.locator('[name=displayName]').fill('윤금순');
    await residentForm.locator('[name=dong]').fill('bad dong');
    await residentForm.locator('button[type=submit]').click();
    await expect(residentForm.locator('.form-message.is-error').textContent({ timeout: 5000 })).resolves.toContain('동 코드');
    await expect(residentForm.locator('[name=dong]').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(residentForm.locator('[name=displayName]').inputValue()).resolves.toBe('윤금순'); // kept for correcting
    await residentForm.locator('[name=dong]').fill(DONG_A);
    await residentForm.locator('[name=birthYear]').fill('1936');
    await residentForm.locator('button[type=submit]').click();
    const row = page.locator('#admin-residents tr:has-text("윤금순")');
    await row.waitFor({ timeout: 5000 });
    const residentId = (await row.getAttribute('data-resident-id'))!;

    const deviceForm = page.locator('form[data-admin=device]');
    await deviceForm.locator('[name=residentId]').selectOption(residentId);
    await deviceForm.locator('[name=kind]').selectOption('button');
    await deviceForm.locator('button[type=submit]').click();
    const secret = (await page.locator('#device-secret .secret-value').textContent({ timeout: 5000 }))!;
    const deviceId = (await page.locator('#device-secret .secret-id').textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    // The secret works for the device, and it is not shown again.
    const client = await stack.connectDevice({ id: deviceId, secret });
    await client.endAsync();
    await page.locator('[data-secret-done]').click();
    expect(await page.content()).not.toContain(secret);

    const staffForm = page.locator('form[data-admin=staff]');
    await staffForm.locator('[name=username]').fill('nurse-new');
    await staffForm.locator('[name=password]').fill('a-good-password');
    await staffForm.locator('[name=displayName]').fill('신규 간호사');
    await staffForm.locator('[name=role]').selectOption('nurse');
    await staffForm.locator('[name=dongs]').fill(`${DONG_A}, ${DONG_B}`);
    await staffForm.locator('button[type=submit]').click();
    await page.locator('#admin-staff tr[data-username="nurse-new"]').waitFor({ timeout: 5000 });
    const token = await stack.login('nurse-new', 'a-good-password');
    const me = await stack.api<{ staff: { role: string; dongs: string[] } }>('/api/me', { token });
    expect(me.body.staff).toMatchObject({ role: 'nurse', dongs: [DONG_A, DONG_B] });

    // Non-admins have no admin page.
    const staffPage = await logIn(staffA);
    expect(await staffPage.locator('#nav [data-nav=admin]').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('switches to English and back, and shows times in TZ_DISPLAY whatever the browser\'s zone', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '한상철' });
    const page = await logIn(staffA, { timezoneId: 'America/New_York' });
    const button = await device(resident.id, 'button');
    await button.publish({ type: 'sos' });
    await button.end();
    const card = page.locator('#board .card:has-text("한상철")');
    await card.waitFor({ timeout: 10_000 });
    await page.locator('#lang-toggle').click();
    await expect(card.locator('.kind').textContent()).resolves.toBe('SOS');
    await expect(page.locator('#nav [data-nav=residents]').textContent()).resolves.toBe('Residents');
    await expect(page.locator('#col-time').textContent()).resolves.toBe('Opened (KST)');
    await page.locator('#lang-toggle').click();
    await expect(card.locator('.kind').textContent()).resolves.toBe('응급호출');
    const alert = await alertOf(resident.id, 'sos');
    const seoul = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .format(new Date(alert.openedAt)).replace(',', '');
    await expect(card.locator('.abs').textContent()).resolves.toBe(seoul);
    expect(problems).toEqual([]);
  });
});
