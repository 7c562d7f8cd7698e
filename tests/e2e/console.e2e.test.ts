import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { launchChromium } from '../support/browser.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG_A = '1111051500';
const DONG_B = '1111053000';

async function logIn(page: Page, stack: Stack, username: string, password: string): Promise<void> {
  await page.goto(stack.httpUrl);
  await page.fill('[name=username]', username);
  await page.fill('[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#connection[data-state=connected]', { timeout: 15_000 });
}

describe('the live console in a real Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows a new critical alert live to the dong staff, and acknowledging it is visible over REST', async () => {
    const resident = await stack.addResident({ dong: DONG_A, displayName: '김영자' });
    const device = await stack.addDevice(resident.id, 'pulse_oximeter');
    const staffA = await stack.addStaff('staff-a', 'staff', [DONG_A]);
    const staffB = await stack.addStaff('staff-b', 'staff', [DONG_B]);

    const page = await browser.newPage();
    const pageB = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await logIn(page, stack, staffA.username, staffA.password);
    await logIn(pageB, stack, staffB.username, staffB.password);

    const client = await stack.connectDevice(device);
    await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'spo2', spo2: 85 }), { qos: 1 });
    await client.endAsync();

    // Live: no reload between login and the alert appearing.
    const card = page.locator('#board [data-kind=abnormal_vital][data-severity=critical]');
    await card.waitFor({ timeout: 10_000 });
    await expect(card.textContent()).resolves.toContain('김영자');
    const alertId = await card.getAttribute('data-alert-id');
    expect(alertId).toBeTruthy();

    await card.locator('[data-action=ack]').click();
    await page.waitForSelector(`#board [data-alert-id="${alertId}"][data-status=acknowledged]`, { timeout: 10_000 });
    let acknowledged: Alert | undefined;
    await waitFor(async () => {
      acknowledged = (await stack.alerts(staffA.token)).find((a) => a.id === alertId);
      return acknowledged?.status === 'acknowledged';
    }, 5000, 'the acknowledgement over REST');
    expect(acknowledged!.history.some((h) => h.action === 'acknowledged' && h.by === 'staff-a')).toBe(true);

    // Staff of another dong saw nothing of it, on the page or over REST.
    expect(await pageB.locator('#board [data-alert-id]').count()).toBe(0);
    expect((await stack.api(`/api/alerts/${alertId}`, { token: staffB.token })).status).toBe(404);
    expect(pageErrors).toEqual([]);
  });
});
