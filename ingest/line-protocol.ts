import { Point } from '@influxdata/influxdb-client';
import type { Observation } from '../core/schemas/observation.js';

const msTimestamp = { convertTime: (t: string | number | Date | undefined) => String(t) };

/** One point per reading: measurement = type; tags resident/device/dong/type; ms timestamps (CONTRACT §3). */
export function toLineProtocol(o: Observation): string {
  const point = new Point(o.type)
    .tag('resident', o.residentId)
    .tag('device', o.deviceId)
    .tag('dong', o.dong)
    .tag('type', o.type)
    .timestamp(o.ts);
  let fields = 0;
  for (const [name, value] of Object.entries(o.fields)) {
    fields++;
    if (typeof value === 'number') point.floatField(name, value);
    else if (typeof value === 'boolean') point.booleanField(name, value);
    else point.stringField(name, value);
  }
  // Events without fields (sos, checkin_button) still need one field to be a point.
  if (fields === 0) point.booleanField('event', true);
  return point.toLineProtocol(msTimestamp as never)!;
}
