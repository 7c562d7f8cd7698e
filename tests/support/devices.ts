import type { MqttClient } from 'mqtt';
import type { InfluxClient } from '../../influx/client.js';

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

/** The timestamps (epoch ms) of one device's points in one measurement. */
export async function pointTimes(influx: InfluxClient, measurement: string, deviceId: string): Promise<number[]> {
  const series = await influx.query(`SELECT * FROM "${measurement}" WHERE "device" = '${deviceId}'`);
  return (series[0]?.values ?? []).map((row) => row[0] as number);
}
