import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { loadConfig, type Config } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import type { Alert } from '../../core/schemas/alert.js';
import type { DeviceKind, ResidentInput } from '../../core/schemas/registry.js';
import { startPlatform, type Platform } from '../../platform.js';

import { waitFor } from '../../core/net.js';

export { waitFor };

export const ADMIN_PASSWORD = 'test-admin-password';

export interface Stack {
  platform: Platform;
  config: Readonly<Config>;
  dataDir: string;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  api<T = unknown>(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: T }>;
  login(username: string, password: string): Promise<string>;
  addResident(input: Partial<ResidentInput> & { dong: string }): Promise<{ id: string; dong: string }>;
  addDevice(residentId: string, kind: DeviceKind): Promise<{ id: string; secret: string }>;
  addStaff(username: string, role: 'staff' | 'nurse' | 'health_center' | 'admin', dongs: string[]): Promise<{ username: string; password: string; token: string }>;
  connectDevice(device: { id: string; secret: string }, options?: IClientOptions): Promise<MqttClient>;
  alerts(token?: string, query?: string): Promise<Alert[]>;
  /** Polls the alert list (as `token`, the admin by default) until an alert matches, and returns it. */
  waitForAlert(match: (alert: Alert) => boolean, what: string, options?: { token?: string; timeoutMs?: number }): Promise<Alert>;
  /** Stops the platform, keeping its DATA_DIR (for restart tests). */
  stop(): Promise<void>;
  /** Stops the platform and removes its DATA_DIR. */
  close(): Promise<void>;
}

/**
 * The whole platform on free ports with a temporary DATA_DIR and its own
 * managed influxd: real MQTT, real InfluxDB, real HTTP. Always `close()` it.
 */
export async function startStack(env: Record<string, string> = {}, reuseDataDir?: string): Promise<Stack> {
  const dataDir = reuseDataDir ?? mkdtempSync(join(tmpdir(), 'dh-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    HTTP_PORT: '0',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    ADMIN_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ALERT_SCAN_MS: '100',
    ...env,
  });
  const platform = await startPlatform(config, { log: createLogger(config.logLevel) });
  const httpUrl = `http://127.0.0.1:${platform.ports.http}`;
  const mqttUrl = `mqtt://127.0.0.1:${platform.ports.mqtt}`;

  async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const response = await fetch(`${httpUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function login(username: string, password: string): Promise<string> {
    const { status, body } = await api<{ token: string }>('/api/login', { body: { username, password } });
    if (status !== 200) throw new Error(`login ${username} → ${status}`);
    return body.token;
  }

  const adminToken = await login('admin', ADMIN_PASSWORD);
  const must = <T>(r: { status: number; body: T }, what: string): T => {
    if (r.status >= 300) throw new Error(`${what} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const listAlerts = async (token = adminToken, query = ''): Promise<Alert[]> =>
    must(await api<{ alerts: Alert[] }>(`/api/alerts${query}`, { token }), 'list alerts').alerts;
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await platform.close();
  };

  return {
    platform,
    config,
    dataDir,
    httpUrl,
    mqttUrl,
    adminToken,
    api,
    login,
    addResident: async (input) =>
      must(await api<{ id: string; dong: string }>('/api/residents', { token: adminToken, body: { displayName: '테스트 어르신', ...input } }), 'add resident'),
    addDevice: async (residentId, kind) =>
      must(await api<{ id: string; secret: string }>('/api/devices', { token: adminToken, body: { residentId, kind } }), 'add device'),
    async addStaff(username, role, dongs) {
      const password = `pw-${username}-1234`;
      must(await api('/api/staff', { token: adminToken, body: { username, password, displayName: username, role, dongs } }), 'add staff');
      return { username, password, token: await login(username, password) };
    },
    connectDevice: (device, options = {}) =>
      mqtt.connectAsync(mqttUrl, {
        clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options,
      }),
    alerts: listAlerts,
    async waitForAlert(match, what, { token = adminToken, timeoutMs = 10_000 } = {}) {
      let found: Alert | undefined;
      await waitFor(async () => {
        found = (await listAlerts(token)).find(match);
        return found !== undefined;
      }, timeoutMs, what);
      return found!;
    },
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
