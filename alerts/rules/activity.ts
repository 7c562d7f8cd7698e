import { healthReadingTypes, type ReadingType, type ValidReading } from '../../core/schemas/readings.js';

// A plug's standby draw and a room's light drift by a few units on their own;
// only a change beyond these bands is a person doing something.
export const POWER_NOISE_WATTS = 5;
export const ILLUMINANCE_NOISE_LUX = 30;

/** Reading types whose activity is a change from the device's previous value. */
export const levelFields: Partial<Record<ReadingType, string>> = { power: 'watts', illuminance: 'lux', steps: 'count' };

/**
 * Is this reading a sign of life? `previous` is the same device's last
 * value of the same type (plug power, illuminance, step count).
 */
export function isActivity(o: Pick<ValidReading, 'type' | 'fields'>, previous: number | undefined): boolean {
  switch (o.type) {
    case 'motion':
      return o.fields.detected === true;
    case 'door':
    case 'checkin_button':
    case 'sos':
    case 'fall':
      return true;
    case 'steps':
      // A band on the nightstand repeats its count; only new steps are someone walking.
      return previous !== undefined && (o.fields.count as number) > previous;
    case 'power':
      return previous !== undefined && Math.abs((o.fields.watts as number) - previous) > POWER_NOISE_WATTS;
    case 'illuminance':
      return previous !== undefined && Math.abs((o.fields.lux as number) - previous) > ILLUMINANCE_NOISE_LUX;
    default:
      return healthReadingTypes.has(o.type);
  }
}
