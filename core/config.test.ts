import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

/** Runs loadConfig and returns the ConfigError it threw (fails the test if it did not throw one). */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('gives every CONTRACT §1 variable its documented default when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.mqtt.port).toBe(1883);
    expect(config.mqtt.wsPort).toBe(9001);
    expect(config.mqtt.tls).toBeUndefined(); // TLS is off without a certificate
    expect(config.http.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe('./data');
    expect(config.influx.url).toBeUndefined(); // unset → the platform manages its own influxd
    expect(config.influx.db).toBe('donghaeng');
    expect(config.influx.token).toBeUndefined();
    expect(config.influx.username).toBeUndefined();
    expect(config.influx.password).toBeUndefined();
    expect(config.admin.username).toBe('admin');
    expect(config.admin.password).toBeUndefined();
    expect(config.tzDisplay).toBe('Asia/Seoul');
  });

  it('does not read process.env when an environment is passed in', () => {
    const config = loadConfig({ HTTP_PORT: '18080' });
    expect(config.http.port).toBe(18080);
    expect(config.mqtt.port).toBe(1883);
  });

  it('takes each variable that is set', () => {
    const config = loadConfig({
      MQTT_PORT: '11883',
      MQTT_WS_PORT: '19001',
      MQTT_TLS_PORT: '18883',
      TLS_CERT: '/etc/dh/cert.pem',
      TLS_KEY: '/etc/dh/key.pem',
      HTTP_PORT: '18080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/donghaeng',
      INFLUX_URL: 'http://influx.internal:8086',
      INFLUX_DB: 'dh_test',
      INFLUX_TOKEN: 'tok',
      ADMIN_USERNAME: 'root',
      ADMIN_PASSWORD: 'correct horse battery',
      TZ_DISPLAY: 'Europe/Berlin',
    });
    expect(config.mqtt).toEqual({
      port: 11883,
      wsPort: 19001,
      tls: { port: 18883, certFile: '/etc/dh/cert.pem', keyFile: '/etc/dh/key.pem' },
    });
    expect(config.http.port).toBe(18080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/var/lib/donghaeng');
    expect(config.influx).toMatchObject({ url: 'http://influx.internal:8086', db: 'dh_test', token: 'tok' });
    expect(config.admin).toEqual({ username: 'root', password: 'correct horse battery' });
    expect(config.tzDisplay).toBe('Europe/Berlin');
  });

  it('listens for TLS on 8883 by convention when a certificate and key are given', () => {
    const config = loadConfig({ TLS_CERT: 'cert.pem', TLS_KEY: 'key.pem' });
    expect(config.mqtt.tls).toEqual({ port: 8883, certFile: 'cert.pem', keyFile: 'key.pem' });
  });

  it('accepts InfluxDB username and password given together', () => {
    const config = loadConfig({ INFLUX_USERNAME: 'dh', INFLUX_PASSWORD: 'secret-pw' });
    expect(config.influx).toMatchObject({ username: 'dh', password: 'secret-pw' });
  });

  it.each([
    ['MQTT_PORT', 'abc'],
    ['MQTT_PORT', '70000'],
    ['MQTT_PORT', '-1'],
    ['MQTT_PORT', '1883.5'],
    ['MQTT_WS_PORT', 'ws'],
    ['HTTP_PORT', '65536'],
    ['INFLUX_URL', 'notaurl'],
    ['INFLUX_URL', 'ftp://influx.internal'],
    ['INFLUX_DB', 'drop database;'],
    ['TZ_DISPLAY', 'Mars/Base'],
    ['ADMIN_PASSWORD', 'short'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses %s=%j with a one-line ConfigError that names the variable', (name, value) => {
    const error = configErrorOf({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('treats empty variables as unset, as a compose file writes them', () => {
    const config = loadConfig({
      MQTT_PORT: '',
      HTTP_PORT: '',
      INFLUX_URL: '',
      TZ_DISPLAY: '',
      TLS_CERT: '',
      TLS_KEY: '',
      ADMIN_PASSWORD: '',
      INFLUX_USERNAME: '',
    });
    expect(config.mqtt.port).toBe(1883);
    expect(config.http.port).toBe(8080);
    expect(config.influx.url).toBeUndefined();
    expect(config.tzDisplay).toBe('Asia/Seoul');
    expect(config.mqtt.tls).toBeUndefined();
    expect(config.admin.password).toBeUndefined();
  });

  it('refuses a port that is only whitespace instead of silently binding a random port', () => {
    // Number(' ') is 0, and port 0 means "any free port".
    const error = configErrorOf({ MQTT_PORT: ' ' });
    expect(error.message).toContain('MQTT_PORT');
  });

  it.each([
    [{ TLS_CERT: 'cert.pem' }],
    [{ TLS_KEY: 'key.pem' }],
    [{ TLS_CERT: 'cert.pem', TLS_KEY: '' }],
  ])('refuses half a TLS configuration %j', (env) => {
    const error = configErrorOf(env);
    expect(error.message).toMatch(/TLS_CERT/);
    expect(error.message).toMatch(/TLS_KEY/);
    expect(error.message).not.toContain('\n');
  });

  it('refuses an InfluxDB username without a password', () => {
    expect(configErrorOf({ INFLUX_USERNAME: 'dh' }).message).toContain('INFLUX_PASSWORD');
  });

  it('runs every service by default and meets the split on its own broker', () => {
    const config = loadConfig({ MQTT_PORT: '1999' });
    expect(config.service).toBe('all');
    expect(config.bus).toEqual({ url: 'mqtt://127.0.0.1:1999', secret: undefined });
    // A wildcard bind address is not one to connect to.
    expect(loadConfig({ HOST: '0.0.0.0' }).bus.url).toBe('mqtt://127.0.0.1:1883');
    expect(loadConfig({ BUS_URL: 'mqtt://broker:1883' }).bus.url).toBe('mqtt://broker:1883');
  });

  it('takes one service of the split with a bus secret, and the broker and web services with an InfluxDB', () => {
    const secret = 'a-bus-secret-of-32-characters-xx';
    expect(loadConfig({ SERVICE: 'alerts', BUS_SECRET: secret }).service).toBe('alerts');
    expect(loadConfig({ SERVICE: 'web', BUS_SECRET: secret, INFLUX_URL: 'http://influxdb:8086' }).bus.secret).toBe(secret);
    expect(configErrorOf({ SERVICE: 'alerts' }).message).toMatch(/^config: BUS_SECRET is needed when SERVICE runs one service/);
    expect(configErrorOf({ SERVICE: 'broker', BUS_SECRET: secret }).message).toMatch(/^config: INFLUX_URL is needed by the broker and web services/);
    expect(configErrorOf({ SERVICE: 'alerts', BUS_SECRET: 'short' }).message).toMatch(/^config: BUS_SECRET must be at least 16 characters/);
    expect(configErrorOf({ SERVICE: 'ingest' }).message).toMatch(/^config: SERVICE /);
    expect(configErrorOf({ BUS_URL: 'http://broker:1883' }).message).toMatch(/^config: BUS_URL must be an mqtt:\/\/ or mqtts:\/\/ URL/);
  });

  it('names every bad variable, one line each, when several are wrong', () => {
    const lines = configErrorOf({ MQTT_PORT: 'abc', TZ_DISPLAY: 'Mars/Base' }).message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes('MQTT_PORT'))).toBe(true);
    expect(lines.some((l) => l.includes('TZ_DISPLAY'))).toBe(true);
  });

  it('returns a deeply frozen config, so nothing downstream can change it', () => {
    const config = loadConfig({ TLS_CERT: 'cert.pem', TLS_KEY: 'key.pem' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.mqtt)).toBe(true);
    expect(Object.isFrozen(config.mqtt.tls)).toBe(true);
    expect(Object.isFrozen(config.influx)).toBe(true);
    expect(() => {
      (config as { host: string }).host = '0.0.0.0';
    }).toThrow(TypeError);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});
