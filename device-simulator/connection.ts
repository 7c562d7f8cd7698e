import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ERRORS_TOPIC, STATUS_TOPIC, topicOf } from './scenarios/types.js';

/** Where and how devices reach the broker: mqtt://, mqtts://, ws://, wss:// (CONTRACT §2). */
export interface Transport {
  url: string;
  /** PEM of the CA that signed the broker's certificate (mqtts://, wss://). */
  ca?: Buffer;
  /** Accept any certificate: for self-signed test brokers only. */
  insecure?: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;
// Real devices retry; a second keeps a simulated fleet from hammering a restarting broker.
const RECONNECT_MS = 1000;

/** The CONTRACT's WebSocket path when the URL names none. */
export function brokerUrl(url: string): string {
  const u = new URL(url);
  if ((u.protocol === 'ws:' || u.protocol === 'wss:') && (u.pathname === '' || u.pathname === '/')) u.pathname = '/mqtt';
  return u.toString();
}

/**
 * A device's own MQTT 3.1.1 connection: client id = username = device id,
 * password = its secret, and a retained `{"online": false}` will on its status
 * topic for when it vanishes without a DISCONNECT.
 */
export function connectDevice(device: { id: string; secret: string }, transport: Transport, options: { reconnect?: boolean } = {}): MqttClient {
  const clientOptions: IClientOptions = {
    clientId: device.id,
    username: device.id,
    password: device.secret,
    protocolVersion: 4,
    clean: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: options.reconnect === false ? 0 : RECONNECT_MS,
    will: { topic: topicOf(STATUS_TOPIC, device.id), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    ...(transport.ca ? { ca: transport.ca } : {}),
    ...(transport.insecure ? { rejectUnauthorized: false } : {}),
  };
  return mqtt.connect(brokerUrl(transport.url), clientOptions);
}

/** Resolves at the first CONNACK; rejects on a refusal, a connection error or the timeout. */
export function connected(client: MqttClient, timeoutMs = CONNECT_TIMEOUT_MS + 1000): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onConnect = () => done();
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

export const errorsTopicOf = (deviceId: string): string => topicOf(ERRORS_TOPIC, deviceId);

/**
 * Vanish like a device whose power or uplink died: destroy the socket without a
 * DISCONNECT, so the broker publishes the will (MQTT-3.1.2-8), and never come back.
 * `end()` would send DISCONNECT and the broker would discard the will (MQTT-3.1.2-10).
 */
export function dropConnection(client: MqttClient): void {
  client.options.reconnectPeriod = 0;
  client.stream.destroy();
}

/**
 * Closes a client at the end of a run: a clean DISCONNECT (no will, so no
 * device_offline) when nothing is outstanding; otherwise, after the drain
 * wait, a forced close (mqtt.js `end()` would wait for the PUBACKs forever).
 */
export function closeClient(client: MqttClient): Promise<void> {
  if (client.disconnected) return Promise.resolve();
  if (client.stream?.destroyed) {
    // mqtt.js would wait for a 'close' the dead socket already emitted.
    client.end(true);
    return Promise.resolve();
  }
  const forced = !client.connected || Object.keys(client.outgoing).length > 0;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CONNECT_TIMEOUT_MS);
    client.end(forced, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
