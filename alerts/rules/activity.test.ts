import { describe, expect, it } from 'vitest';
import type { Observation } from '../../core/schemas/observation.js';
import { ILLUMINANCE_NOISE_LUX, isActivity, POWER_NOISE_WATTS } from './activity.js';

function observation(type: Observation['type'], fields: Observation['fields'] = {}): Observation {
  const ts = Date.UTC(2026, 10, 27);
  return { residentId: 'r-1', deviceId: 'd-1', dong: '1111051500', type, ts, receivedAt: ts, fields };
}

describe('isActivity', () => {
  it.each([
    ['motion detected', observation('motion', { detected: true })],
    ['a door opened', observation('door', { open: true })],
    ['a door closed', observation('door', { open: false })],
    ['the "I\'m OK" button', observation('checkin_button')],
    ['a blood pressure reading', observation('blood_pressure', { systolic: 130, diastolic: 85 })],
    ['a glucose reading', observation('glucose', { mg_dl: 110 })],
    ['an SpO2 reading', observation('spo2', { spo2: 97 })],
    ['a temperature reading', observation('temperature', { celsius: 36.5 })],
    ['a weight reading', observation('weight', { kg: 60 })],
    ['a heart rate reading', observation('heart_rate', { bpm: 70 })],
    ['a respiratory rate reading', observation('respiratory_rate', { per_min: 15 })],
  ])('counts %s as a sign of life', (_what, o) => {
    expect(isActivity(o, undefined)).toBe(true);
  });

  it('does not count a motion sensor reporting no motion', () => {
    expect(isActivity(observation('motion', { detected: false }), undefined)).toBe(false);
  });

  it.each([
    ['power', 'watts', POWER_NOISE_WATTS, 3],
    ['illuminance', 'lux', ILLUMINANCE_NOISE_LUX, 40],
  ] as const)('counts a %s change beyond the noise band, and not one within it', (type, field, noise, standby) => {
    expect(isActivity(observation(type, { [field]: standby + noise + 1 }), standby)).toBe(true);
    expect(isActivity(observation(type, { [field]: standby - noise - 1 }), standby)).toBe(true);
    expect(isActivity(observation(type, { [field]: standby + noise }), standby)).toBe(false);
    expect(isActivity(observation(type, { [field]: standby - noise }), standby)).toBe(false);
    expect(isActivity(observation(type, { [field]: standby }), standby)).toBe(false);
  });

  it.each([
    ['power', { watts: 1800 }],
    ['illuminance', { lux: 500 }],
  ] as const)('does not count the first %s value of a device, having nothing to compare it with', (type, fields) => {
    expect(isActivity(observation(type, fields), undefined)).toBe(false);
  });

  it('counts a kettle switching on after hours of standby', () => {
    expect(isActivity(observation('power', { watts: 1800 }), 2)).toBe(true);
  });

  it('treats a rising step count as a sign of life', () => {
    expect(isActivity(observation('steps', { count: 1250 }), 1200)).toBe(true);
  });

  it('does not treat an unchanged step count as a sign of life', () => {
    // CONTRACT §4 lists motion, door, check-in, health readings and plug/light
    // changes; a band lying on the nightstand still reports the same count.
    expect(isActivity(observation('steps', { count: 1200 }), 1200)).toBe(false);
  });
});
