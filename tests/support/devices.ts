import type { MqttClient } from 'mqtt';
import type { InfluxClient } from '../../influx/client.js';
import { waitFor } from '../../core/net.js';

export const readingsTopic = (deviceId: string) => `dh/v1/devices/${deviceId}/readings`;
export const statusTopic = (deviceId: string) => `dh/v1/devices/${deviceId}/status`;
export const errorsTopic = (deviceId: string) => `dh/v1/devices/${deviceId}/errors`;

export interface DeviceError {
  error: string;
  message: string;
  index?: number;
}

/** Subscribes to the device's errors topic and collects what arrives. */
export async function collectErrors(client: MqttClient, deviceId: string): Promise<DeviceError[]> {
  const errors: DeviceError[] = [];
  client.on('message', (topic, payload) => {
    if (topic === errorsTopic(deviceId)) errors.push(JSON.parse(payload.toString()) as DeviceError);
  });
  const granted = await client.subscribeAsync(errorsTopic(deviceId), { qos: 1 });
  if (granted[0]?.qos !== 1) throw new Error(`subscription to ${errorsTopic(deviceId)} refused`);
  return errors;
}

/** Points of one device in one measurement (InfluxQL count over the first field). */
export async function countPoints(influx: InfluxClient, measurement: string, deviceId: string): Promise<number> {
  const series = await influx.query(`SELECT count(*) FROM "${measurement}" WHERE "device" = '${deviceId}'`);
  const row = series[0]?.values[0];
  if (!row) return 0;
  return Math.max(...row.slice(1).map((v) => (typeof v === 'number' ? v : 0)));
}

/**
 * A device's points in one measurement, as column → value, once every one of them has
 * all of `fields`. InfluxDB shows a point's fields one by one while its write is in
 * flight (influxdata/influxdb#8546), so a test that checks fields waits for them all.
 */
export async function wholePoints(influx: InfluxClient, measurement: string, deviceId: string, fields: string[], count = 1): Promise<Record<string, unknown>[]> {
  let points: Record<string, unknown>[] = [];
  await waitFor(async () => {
    const [series] = await influx.query(`SELECT * FROM "${measurement}" WHERE "device" = '${deviceId}'`);
    points = (series?.values ?? []).map((row) => Object.fromEntries(series!.columns.map((c, i) => [c, row[i]])));
    return points.length === count && points.every((p) => fields.every((f) => p[f] !== null && p[f] !== undefined));
  }, 15_000, `${count} whole ${measurement} point(s) of ${deviceId}`);
  return points;
}

/** The timestamps (epoch ms) of one device's points in one measurement. */
export async function pointTimes(influx: InfluxClient, measurement: string, deviceId: string): Promise<number[]> {
  const series = await influx.query(`SELECT * FROM "${measurement}" WHERE "device" = '${deviceId}'`);
  return (series[0]?.values ?? []).map((row) => row[0] as number);
}
