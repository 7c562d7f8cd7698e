import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminApi } from './admin-api.js';
import { provisionHomes } from './homes.js';
import { runHomes } from './run.js';
import { scenarioNamed } from './scenarios/index.js';
import { seoulMinuteOfDay } from './sim-clock.js';

// `make demo`: the platform as a child process, a seeded demo dong, simulated homes until Ctrl-C.
const DONG = '1111051500'; // 종로구 청운효자동
const dataDir = resolve(process.env.DATA_DIR ?? 'data/demo');
const httpPort = process.env.HTTP_PORT ?? '8080';
const mqttPort = process.env.MQTT_PORT ?? '1883';
const host = process.env.HOST ?? '127.0.0.1';
const adminPassword = process.env.ADMIN_PASSWORD ?? randomBytes(9).toString('base64url');
const staffPassword = randomBytes(6).toString('base64url');
const nursePassword = randomBytes(6).toString('base64url');
const baseUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${httpPort}`;

// The demo's data is throwaway: start from a clean DATA_DIR each time.
rmSync(dataDir, { recursive: true, force: true });
const mainJs = fileURLToPath(new URL('../main.js', import.meta.url));
const platform = spawn(process.execPath, [mainJs], {
  env: { ...process.env, DATA_DIR: dataDir, HTTP_PORT: httpPort, MQTT_PORT: mqttPort, ADMIN_PASSWORD: adminPassword, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
  // Its own process group: the terminal's Ctrl-C reaches only this process, which then
  // stops the platform with one SIGTERM (a second signal would cut its graceful close short).
  detached: true,
});
process.on('exit', () => {
  if (platform.exitCode === null && platform.signalCode === null) platform.kill('SIGKILL');
});
const platformExited = new Promise<number | null>((res) => platform.once('exit', (code) => res(code)));
const abort = new AbortController();
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    abort.abort();
    if (platform.exitCode === null) platform.kill('SIGTERM');
    await platformExited;
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
void platformExited.then((code) => {
  if (!stopping) {
    console.error(`the platform exited (code ${code})`);
    process.exit(1);
  }
});

const deadline = Date.now() + 60_000;
for (;;) {
  try {
    if ((await fetch(`${baseUrl}/healthz`)).ok) break;
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    console.error('the platform did not become healthy within 60 s');
    await stop(1);
  }
  await new Promise((r) => setTimeout(r, 300));
}

const api = await AdminApi.login(baseUrl, 'admin', adminPassword);
await api.addStaff({ username: 'staff', password: staffPassword, displayName: '청운효자동 복지플래너', role: 'staff', dongs: [DONG] });
await api.addStaff({ username: 'nurse', password: nursePassword, displayName: '청운효자동 방문간호사', role: 'nurse', dongs: [DONG] });

// 20 homes: most live an ordinary day; seven meet trouble within the first minute.
const plan = [
  ...Array.from({ length: 13 }, () => 'normal'),
  'hypoxia', 'sos', 'hypertensive_crisis', 'hypoglycaemia', 'silent', 'fall', 'device_offline',
].map(scenarioNamed);
const seed = Date.now() >>> 0;
const homes = await provisionHomes(api, {
  dong: DONG,
  seed,
  homes: plan.map((s) => ({ scenario: s.name, devices: s.devices, ...(s.inactivityHours === undefined ? {} : { inactivityHours: s.inactivityHours }) })),
});
// Simulated time at 60×: a day of life in 24 minutes.
const SPEED = 60;

console.log(`
  동행케어 데모 — Donghaeng Care demo
  ───────────────────────────────────────────────
  console     ${baseUrl}/
  MQTT        mqtt://${host}:${mqttPort}
  logins      staff  / ${staffPassword}   (동 담당자, dong ${DONG})
              nurse  / ${nursePassword}   (방문간호사)
              admin  / ${adminPassword}   (관리자)
  homes       ${homes.length} in dong ${DONG}, their day at ${SPEED}× speed; alerts appear within a minute
  data        ${dataDir}
  Ctrl-C stops everything.
`);

// The homes live on until Ctrl-C, one hour-long session after another (each replays its emergencies).
const transport = { url: `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${mqttPort}` };
for (let session = 0; !abort.signal.aborted; session++) {
  await runHomes(homes, { transport, seed: seed + session, speed: SPEED, durationMs: 3_600_000, startMinute: seoulMinuteOfDay(Date.now()), signal: abort.signal, drainMs: 2000 });
}
