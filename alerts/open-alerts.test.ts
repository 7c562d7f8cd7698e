import { describe, expect, it } from 'vitest';
import { OpenAlerts } from './open-alerts.js';

const alert = (id: string, residentId: string, rule: string) => ({ id, residentId, kind: 'abnormal_vital' as const, rule });

describe('OpenAlerts', () => {
  it('finds an alert by resident, kind and rule, and knows which residents have any', () => {
    const open = new OpenAlerts<ReturnType<typeof alert>>();
    open.set(alert('a1', 'r1', 'spo2'));
    open.set(alert('a2', 'r1', 'heart_rate'));
    expect(open.get('r1', 'abnormal_vital', 'spo2')?.id).toBe('a1');
    expect(open.get('r1', 'sos', 'spo2')).toBeUndefined();
    expect(open.get('r2', 'abnormal_vital', 'spo2')).toBeUndefined();
    expect([open.hasAny('r1'), open.hasAny('r2'), open.size]).toEqual([true, false, 2]);
  });

  it('replaces the alert of the same key without counting it twice, and forgets a resident whose last alert goes', () => {
    const open = new OpenAlerts<ReturnType<typeof alert>>();
    open.set(alert('a1', 'r1', 'spo2'));
    open.set(alert('a1', 'r1', 'spo2')); // a newer version of the same alert
    open.set(alert('a2', 'r1', 'heart_rate'));
    open.delete(alert('a1', 'r1', 'spo2'));
    expect(open.hasAny('r1')).toBe(true);
    open.delete(alert('a2', 'r1', 'heart_rate'));
    expect([open.hasAny('r1'), open.size]).toEqual([false, 0]);
  });

  it('keeps a newer alert when an older one of the same key is deleted', () => {
    const open = new OpenAlerts<ReturnType<typeof alert>>();
    open.set(alert('old', 'r1', 'spo2'));
    open.set(alert('new', 'r1', 'spo2'));
    open.delete(alert('old', 'r1', 'spo2'));
    expect(open.get('r1', 'abnormal_vital', 'spo2')?.id).toBe('new');
    expect(open.hasAny('r1')).toBe(true);
  });
});
