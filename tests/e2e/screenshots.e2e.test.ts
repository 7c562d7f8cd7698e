import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { DEMO_DONG_A, DEMO_DONG_B, publishNow, publishStatus, seedDemo, type DemoData } from '../support/demo-seed.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

// `UPDATE_SCREENSHOTS=1 npx vitest run tests/e2e/screenshots.e2e.test.ts` refreshes docs/screenshots;
// otherwise the pictures go to a temporary folder and the test only checks the pages lay out.
const outDir = process.env.UPDATE_SCREENSHOTS ? resolve('docs/screenshots') : join(tmpdir(), 'dh-screenshots');

/** The board and a resident page at 1440×900 in Korean, with a realistic week of demo data. */
describe('console screenshots with demo data', () => {
  let stack: Stack;
  let browser: Browser;
  let demo: DemoData;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    // One after the other: if Chromium fails to start, afterAll still closes the stack (and its influxd).
    stack = await startStack();
    browser = await launchChromium();
    demo = await seedDemo(stack);
    const staff = await stack.api('/api/staff', {
      token: stack.adminToken, body: { username: 'kim.bokji', password: 'demo-password-1', displayName: '김지현', role: 'staff', dongs: [DEMO_DONG_A, DEMO_DONG_B] },
    });
    expect(staff.status).toBe(201);

    // Today's events, through the devices as in real life.
    await publishNow(stack, demo, '박순자', 'pulse_oximeter', [{ type: 'spo2', spo2: 89, pulse: 104 }]);
    await publishNow(stack, demo, '이말순', 'bp_monitor', [{ type: 'blood_pressure', systolic: 168, diastolic: 96, pulse: 82 }]);
    await publishNow(stack, demo, '최복례', 'thermometer', [{ type: 'temperature', celsius: 38.1 }]);
    await publishNow(stack, demo, '강덕수', 'glucometer', [{ type: 'glucose', mg_dl: 62, context: 'fasting' }]);
    await publishStatus(stack, demo, '윤금순', 'motion_sensor', { online: false, battery: 8 });
    await publishNow(stack, demo, '오정희', 'pulse_oximeter', [{ type: 'spo2', spo2: 93, pulse: 88 }]);
    await publishNow(stack, demo, '정옥자', 'smart_band', [{ type: 'fall', confidence: 0.92 }]);
    await publishNow(stack, demo, '김영자', 'button', [{ type: 'sos' }]);
    await waitFor(async () => (await stack.alerts()).length >= 8, 15_000, 'the demo alerts');

    // Some already being handled.
    const alerts = await stack.alerts();
    const byName = (name: string) => alerts.find((a) => a.residentId === demo.residents.get(name)!.id)!;
    const staffToken = await stack.login('kim.bokji', 'demo-password-1');
    await stack.api(`/api/alerts/${byName('정옥자').id}/ack`, { body: { note: '전화 연결 — 넘어졌으나 의식 있음' }, token: staffToken });
    await stack.api(`/api/alerts/${byName('정옥자').id}/escalate`, { body: { note: '방문간호 요청' }, token: staffToken });
    await stack.api(`/api/alerts/${byName('최복례').id}/ack`, { body: {}, token: staffToken });
    await stack.api(`/api/alerts/${byName('오정희').id}/note`, { body: { note: '전화 시도 — 응답 없음' }, token: staffToken });

    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
    await page.goto(stack.httpUrl);
    await page.fill('[name=username]', 'kim.bokji');
    await page.fill('[name=password]', 'demo-password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('#connection[data-state=connected]', { timeout: 15_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('the board: open alerts by severity and age, counters, filters', async () => {
    await page.locator('#board [data-alert-id]').nth(7).waitFor({ timeout: 10_000 });
    await page.locator('#board .card .name:not(.is-unknown)').first().waitFor();
    // The detail panel of the acknowledged and escalated fall, with its history.
    await page.locator('#board [data-kind=fall]').click();
    await page.locator('#detail [data-history-action=escalated]').waitFor();
    expect(await page.locator('[data-counter=critical]').getAttribute('data-count')).toBe('3');
    await page.screenshot({ path: join(outDir, 'board.png') });
  });

  it('the resident page: profile, devices, alerts and a week of vital signs with bands', async () => {
    const id = demo.residents.get('박순자')!.id;
    const counts = demo.historyCount.get('박순자')!;
    await waitFor(async () => {
      const r = await stack.api<{ readings: unknown[] }>(`/api/residents/${id}/readings?type=spo2`, { token: stack.adminToken });
      return r.body.readings.length === counts.spo2! + 1;
    }, 15_000, 'today\'s reading in InfluxDB');
    await page.goto(`${stack.httpUrl}/#/residents/${id}`);
    await page.locator('#vitals[data-state=ready]').waitFor({ timeout: 15_000 });
    await expect(page.locator('[data-chart=spo2]').getAttribute('data-points')).resolves.toBe(String(counts.spo2! + 1));
    await expect(page.locator('[data-chart=blood_pressure]').getAttribute('data-points')).resolves.toBe(String(counts.blood_pressure! * 2));
    expect(await page.locator('[data-chart] canvas').count()).toBeGreaterThanOrEqual(3);
    await page.locator('[data-section=open-alerts] [data-alert-id]').waitFor();
    await page.screenshot({ path: join(outDir, 'resident.png') });
  });

  it('the residents list and, for an admin, the registry page', async () => {
    await page.goto(`${stack.httpUrl}/#/residents`);
    await page.locator('#residents-view tr[data-resident-id]').nth(9).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(outDir, 'residents.png') });

    const admin = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
    await admin.goto(`${stack.httpUrl}/#/admin`);
    await admin.fill('[name=username]', 'admin');
    await admin.fill('[name=password]', 'test-admin-password');
    await admin.click('button[type=submit]');
    await admin.locator('#admin-residents tr[data-resident-id]').first().waitFor({ timeout: 10_000 });
    await admin.locator('form[data-admin=device] [name=kind]').selectOption('door_sensor');
    await admin.locator('form[data-admin=device] button[type=submit]').click();
    await admin.locator('#device-secret').waitFor();
    await admin.screenshot({ path: join(outDir, 'admin.png') });
    await admin.close();
  });
});
