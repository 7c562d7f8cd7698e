import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema } from '../../core/config.js';

// No Docker engine runs where the suite runs, so the compose file is checked by
// reading it: every name, port and path it relies on must agree with the code.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, unknown> | string[];
  ports?: (string | number | { target?: number | string; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
}

// `merge`: the services share their common part through a YAML anchor (`<<: *platform`), as compose reads it.
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services?: Record<string, Service> };
const services = compose.services ?? {};
const influxdb = services.influxdb ?? {};
const splitServices = ['broker', 'alerts', 'web'] as const;
const broker = services.broker ?? {};
const web = services.web ?? {};

/** Both compose spellings of `environment` (mapping or `KEY=value` list) as a mapping. */
function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
}

/** Published ports as {host, container} pairs, from short (`"1883:1883"`) or long syntax. */
function portsOf(service: Service): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return { host: Number(p.published), container: Number(p.target) };
    const parts = String(p).split('/')[0]!.split(':'); // [ip:]host:container[/proto]
    const container = Number(parts.at(-1));
    const host = parts.length >= 2 ? Number(parts.at(-2)) : container;
    return { host, container };
  });
}

/** Bind mounts as {source, target}, from short (`./a:/b:ro`) or long syntax. */
function mountsOf(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target ?? '' };
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}

const influxEnv = envOf(influxdb);
const brokerEnv = envOf(broker);
const webEnv = envOf(web);

describe('docker-compose.yml', () => {
  it('defines InfluxDB and the platform as split processes: broker, alerts and web (CONTRACT §1)', () => {
    expect(Object.keys(services).sort()).toEqual(['alerts', 'broker', 'influxdb', 'web']);
    for (const name of splitServices) expect(envOf(services[name]!).SERVICE, name).toBe(name);
  });

  it('lets the services meet on the broker with a bus secret that must be given', () => {
    for (const name of splitServices) expect(envOf(services[name]!).BUS_SECRET, name).toMatch(/^\$\{BUS_SECRET:\?.+\}$/);
    for (const name of ['alerts', 'web'] as const) {
      const url = new URL(envOf(services[name]!).BUS_URL ?? '');
      expect(`${url.protocol}//${url.hostname}:${url.port}`, name).toBe('mqtt://broker:1883');
      expect((services[name]!.depends_on as Record<string, { condition?: string }>).broker?.condition, name).toBe('service_healthy');
    }
  });

  it('runs InfluxDB 2.x, which serves InfluxQL through a DBRP mapping', () => {
    expect(influxdb.image).toMatch(/^influxdb:2(\.\d+)*(-[\w.]+)?$/);
  });

  it('sets InfluxDB up on first start with an org, a bucket and an admin token', () => {
    expect(influxEnv.DOCKER_INFLUXDB_INIT_MODE).toBe('setup');
    for (const name of ['USERNAME', 'PASSWORD', 'ORG', 'BUCKET', 'ADMIN_TOKEN']) {
      expect(influxEnv[`DOCKER_INFLUXDB_INIT_${name}`], `DOCKER_INFLUXDB_INIT_${name}`).toBeTruthy();
    }
  });

  it('mounts an executable init script that creates the DBRP mapping for the bucket', () => {
    const initMounts = mountsOf(influxdb).filter((m) => m.target.startsWith('/docker-entrypoint-initdb.d/'));
    expect(initMounts.length).toBeGreaterThan(0);
    const scripts = initMounts.map((m) => resolve(root, m.source));
    const dbrp = scripts.find((file) => existsSync(file) && statSync(file).isFile() && readFileSync(file, 'utf8').includes('v1 dbrp create'));
    expect(dbrp, `one of ${scripts.join(', ')} runs "influx v1 dbrp create"`).toBeDefined();
    // The image runs only executable *.sh files from the init directory (run-parts).
    expect(dbrp!).toMatch(/\.sh$/);
    expect(() => accessSync(dbrp!, constants.X_OK)).not.toThrow();
    const script = readFileSync(dbrp!, 'utf8');
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain('set -euo pipefail');
    expect(script).toMatch(/--rp autogen/);
    expect(script).toMatch(/--default/);
  });

  it('gives InfluxDB a healthcheck with influx ping', () => {
    const test = influxdb.healthcheck?.test;
    expect([test].flat().join(' ')).toMatch(/influx ping/);
  });

  it('points the broker and the console at the influxdb service, its bucket and its admin token', () => {
    for (const env of [brokerEnv, webEnv]) {
      const url = new URL(env.INFLUX_URL ?? '');
      expect(url.protocol).toBe('http:');
      expect(url.hostname).toBe('influxdb');
      expect(url.port || '80').toBe('8086');
      expect(env.INFLUX_DB).toBe(influxEnv.DOCKER_INFLUXDB_INIT_BUCKET);
      // 2.x needs the org on /api/v2/write; without it the platform would fall back to /write via the DBRP mapping.
      expect(env.INFLUX_ORG).toBe(influxEnv.DOCKER_INFLUXDB_INIT_ORG);
      expect(env.INFLUX_TOKEN).toBe(influxEnv.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    }
  });

  it('makes every service listen on all interfaces and share one data volume', () => {
    const volumes = new Set<string>();
    for (const name of splitServices) {
      const env = envOf(services[name]!);
      expect(env.HOST, name).toBe('0.0.0.0');
      expect(env.DATA_DIR, name).toBe('/data');
      const mount = mountsOf(services[name]!).find((m) => m.target === env.DATA_DIR);
      expect(mount, name).toBeDefined();
      volumes.add(mount!.source);
    }
    expect(volumes.size).toBe(1); // one writer per SQLite file, every file where each service finds it
  });

  it('requires an admin password instead of defaulting one', () => {
    expect(webEnv.ADMIN_PASSWORD).toMatch(/^\$\{ADMIN_PASSWORD:\?.+\}$/);
  });

  it('sets only environment variables the platform knows', () => {
    const known = Object.keys(EnvSchema.shape);
    expect(known).toContain('INFLUX_URL'); // the schema's keys were read, not an empty object
    for (const name of splitServices) {
      const unknown = Object.keys(envOf(services[name]!)).filter((variable) => !known.includes(variable));
      expect(unknown, name).toEqual([]);
    }
  });

  it('publishes the default MQTT and MQTT-over-WebSocket ports on the broker and HTTP on the console', () => {
    const defaults = EnvSchema.parse({});
    expect([defaults.MQTT_PORT, defaults.MQTT_WS_PORT, defaults.HTTP_PORT]).toEqual([1883, 9001, 8080]);
    for (const port of [1883, 9001]) expect(portsOf(broker), `port ${port}`).toContainEqual({ host: port, container: port });
    expect(portsOf(web)).toEqual([{ host: 8080, container: 8080 }]);
    expect(portsOf(services.alerts!)).toEqual([]);
    // No service may be moved off those defaults inside its container.
    for (const name of splitServices) {
      for (const variable of ['MQTT_PORT', 'MQTT_WS_PORT', 'HTTP_PORT']) {
        expect(envOf(services[name]!)[variable] ?? '', `${name} ${variable}`).toMatch(/^$|^(1883|9001|8080)$/);
      }
    }
  });

  it('starts the broker only once InfluxDB reports healthy', () => {
    const dependsOn = broker.depends_on;
    expect(dependsOn).not.toBeInstanceOf(Array);
    expect((dependsOn as Record<string, { condition?: string }>).influxdb?.condition).toBe('service_healthy');
  });

  it('builds every service from a Dockerfile that runs dist/main.js', () => {
    const builds = new Set(splitServices.map((name) => JSON.stringify(services[name]!.build)));
    expect(builds.size).toBe(1); // one image: SERVICE alone decides what a container runs
    const platform = broker;
    const context = typeof platform.build === 'string' ? platform.build : (platform.build?.context ?? '.');
    const dockerfileName = typeof platform.build === 'object' ? (platform.build.dockerfile ?? 'Dockerfile') : 'Dockerfile';
    const dockerfile = resolve(root, context, dockerfileName);
    expect(existsSync(dockerfile)).toBe(true);
    const text = readFileSync(dockerfile, 'utf8').replace(/\\\n\s*/g, ' '); // join continuation lines
    const cmd = text.split('\n').filter((line) => /^CMD\s/.test(line)).at(-1) ?? '';
    // The same command as `npm start`, node flags included.
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(JSON.parse(cmd.replace(/^CMD\s+/, '')) as string[]).toEqual(start.split(/\s+/));
    expect(start).toMatch(/^node .*dist\/main\.js$/);
    expect(text).toMatch(/^USER\s+node\s*$/m);
    expect(text).toMatch(/^HEALTHCHECK\s.*\/healthz/m);
  });
});
