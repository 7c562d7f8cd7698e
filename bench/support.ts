import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { startPlatform, type Platform } from '../platform.js';

export interface LoadJob {
  url: string;
  devices: { id: string; secret?: string }[];
  messagesPerDevice: number;
  inFlightPerDevice: number;
  payload: string;
}

export interface LoadResult {
  messages: number;
  seconds: number;
  latencyMs: { p50: number; p99: number };
}

/** Runs bench/load-worker in a child process and returns its result. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  const worker = fileURLToPath(new URL('./load-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load worker exited ${code}`))));
  });
}

/** The whole platform in this process on free ports, with its own managed influxd, in a temp DATA_DIR. */
export async function startBenchPlatform(env: Record<string, string> = {}): Promise<{ platform: Platform; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-bench-'));
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', MQTT_PORT: '0', MQTT_WS_PORT: '0', ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn', ...env });
  const platform = await startPlatform(config, { log: createLogger('warn') });
  return {
    platform,
    async close() {
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
