import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const OTHER_DONG = '1111053000';

describe("a nurse's per-resident vital bands", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('judges the next readings by the bands the nurse set, and only a nurse in scope may set them', async () => {
    const resident = await stack.addResident({ dong: DONG, displayName: 'COPD 어르신' });
    const device = await stack.addDevice(resident.id, 'pulse_oximeter');
    const nurse = await stack.addStaff('nurse-bands', 'nurse', [DONG]);
    const staff = await stack.addStaff('staff-bands', 'staff', [DONG]);
    const otherNurse = await stack.addStaff('nurse-elsewhere', 'nurse', [OTHER_DONG]);
    const path = `/api/residents/${resident.id}/vital-bands`;
    // A COPD target of 88–92 %: 91 is fine for this resident, though the default calls it critical.
    const copd = { spo2: { lowCritical: 85, lowWarning: 87 } };

    expect((await stack.api(path, { method: 'PUT', body: copd, token: staff.token })).status).toBe(403);
    expect((await stack.api(path, { method: 'PUT', body: copd, token: otherNurse.token })).status).toBe(404);
    const bad = await stack.api<{ error: string; field: string }>(path, { method: 'PUT', body: { spo2: { lowCritical: 'low' } }, token: nurse.token });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('spo2.lowCritical');
    const set = await stack.api<{ bands: { spo2: { lowCritical: number; lowWarning: number } } }>(path, { method: 'PUT', body: copd, token: nurse.token });
    expect(set.status).toBe(200);
    expect(set.body.bands.spo2).toEqual({ lowCritical: 85, lowWarning: 87 });

    const client = await stack.connectDevice(device);
    const topic = `dh/v1/devices/${device.id}/readings`;
    const now = Date.now();
    await client.publishAsync(topic, JSON.stringify({ type: 'spo2', spo2: 91, ts: now - 2000 }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ type: 'spo2', spo2: 84, ts: now - 1000 }), { qos: 1 });
    await client.endAsync();

    await stack.waitForAlert((a) => a.residentId === resident.id, 'the alert for SpO2 84', { token: nurse.token });
    const alerts = (await stack.alerts(nurse.token)).filter((a) => a.residentId === resident.id);
    // 91 raised nothing under the nurse's bands; 84 is critical under them.
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'abnormal_vital', rule: 'spo2', severity: 'critical', lastValue: 84, count: 1 });
  });
});
