import { performance } from 'node:perf_hooks';
import { AdminApi } from './admin-api.js';
import { provisionHomes, readHomesFile, writeHomesFile, type Home, type HomeRequest, type SimDevice } from './homes.js';
import { LOAD_KIT } from './load.js';
import { assignScenarios, UsageError, type LoadModeOptions, type ScenarioModeOptions } from './options.js';
import { scenarioNamed } from './scenarios/index.js';

type Log = (line: string) => void;

/** The homes of a run: read from `--homes-file`, or provisioned through the admin API (and saved with `--save-homes`). */
async function obtainHomes(options: ScenarioModeOptions | LoadModeOptions, requests: () => HomeRequest[], log: Log): Promise<{ homes: Home[]; provisionSeconds?: number }> {
  if (options.homesFile) {
    const homes = readHomesFile(options.homesFile);
    log(`read ${homes.length} homes from ${options.homesFile}`);
    return { homes };
  }
  const password = process.env.ADMIN_PASSWORD;
  if (!password) throw new UsageError('set ADMIN_PASSWORD (the platform administrator password) to provision homes, or pass --homes-file');
  const wanted = requests();
  const total = wanted.reduce((n, h) => n + 1 + h.devices.length, 0);
  log(`provisioning ${wanted.length} residents and ${total - wanted.length} devices through ${options.api} …`);
  const started = performance.now();
  let lastLog = started;
  const api = await AdminApi.login(options.api, options.adminUser, password);
  const homes = await provisionHomes(api, {
    dong: options.dong,
    seed: options.seed,
    homes: wanted,
    onProgress(done) {
      if (performance.now() - lastLog > 2000) {
        lastLog = performance.now();
        log(`  ${done}/${total}`);
      }
    },
  });
  const provisionSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
  log(`provisioned in ${provisionSeconds} s (dong ${options.dong})`);
  if (options.saveHomes) {
    writeHomesFile(options.saveHomes, homes);
    log(`saved the homes and their device secrets to ${options.saveHomes} (mode 0600)`);
  }
  return { homes, provisionSeconds };
}

export async function scenarioFleet(options: ScenarioModeOptions, log: Log): Promise<{ homes: Home[]; provisionSeconds?: number }> {
  const result = await obtainHomes(
    options,
    () =>
      assignScenarios(options.mix, options.homes ?? 10).map((name) => {
        const scenario = scenarioNamed(name);
        const inactivityHours = scenario.inactivityHours === undefined ? undefined : options.silentWindowSeconds === undefined ? scenario.inactivityHours : options.silentWindowSeconds / 3600;
        return { scenario: name, devices: scenario.devices, ...(inactivityHours === undefined ? {} : { inactivityHours }) };
      }),
    log,
  );
  const homes = options.homes === undefined ? result.homes : result.homes.slice(0, options.homes);
  const unplayable = homes.filter((h) => !h.scenario);
  if (unplayable.length) throw new UsageError(`${unplayable.length} homes of ${options.homesFile} have no scenario (load homes): use them with --load`);
  return { ...result, homes };
}

export async function loadFleet(options: LoadModeOptions, log: Log): Promise<{ homes: number; devices: SimDevice[]; provisionSeconds?: number }> {
  const homeCount = Math.ceil(options.devices / LOAD_KIT.length);
  const result = await obtainHomes(
    options,
    () => Array.from({ length: homeCount }, (_, i) => ({ scenario: null, devices: LOAD_KIT.slice(0, Math.min(LOAD_KIT.length, options.devices - i * LOAD_KIT.length)) })),
    log,
  );
  const devices: SimDevice[] = [];
  let homes = 0;
  for (const home of result.homes) {
    if (devices.length >= options.devices) break;
    homes++;
    devices.push(...home.devices.slice(0, options.devices - devices.length));
  }
  if (devices.length < options.devices) throw new UsageError(`${options.homesFile} holds ${devices.length} devices, fewer than --devices ${options.devices}`);
  return { homes, devices, ...(result.provisionSeconds === undefined ? {} : { provisionSeconds: result.provisionSeconds }) };
}
