import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { createInProcessBus } from '../core/bus.js';
import { systemClock } from '../core/clock.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { PlatformError } from '../core/errors.js';
import { deviceKinds, type DeviceInput, type ResidentInput } from '../core/schemas/registry.js';
import { openRegistry, type Registry } from './store.js';

const USAGE = `usage: npm run registry -- <command> [options]   (the registry under DATA_DIR, default ./data)

  add-resident   --name NAME --dong DONG [--phone P] [--birth-year Y] [--inactivity-hours H] [--id ID]
  add-device     --resident ID --kind KIND [--offline-after-minutes M] [--id ID]
                 prints the device secret: it is shown this once, only its hash is kept
  list-residents [--dong DONG]
  list-devices   [--resident ID]
  disable-device --id ID
  enable-device  --id ID
  add --json to any command for JSON output

  kinds: ${deviceKinds.join(', ')}

A running platform sees CLI changes only at its next start (new residents are watched for
missed check-ins from then; a device disabled here is refused at its next CONNECT). While it
runs, prefer the admin API (POST /api/residents, PATCH /api/devices/:id), which acts at once.
`;

const OPTIONS = {
  name: { type: 'string' },
  dong: { type: 'string' },
  phone: { type: 'string' },
  'birth-year': { type: 'string' },
  'inactivity-hours': { type: 'string' },
  id: { type: 'string' },
  resident: { type: 'string' },
  kind: { type: 'string' },
  'offline-after-minutes': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const numberOption = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new PlatformError('bad_request', `--${name} must be a number`, name);
  return n;
};

function required(value: string | undefined, name: string): string {
  if (!value) throw new PlatformError('bad_request', `--${name} is required`, name);
  return value;
}

/** Runs one registry command against an open registry; returns the exit code. */
export async function runRegistryCommand(argv: string[], registry: Registry, io: CliOutput): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return command || values.help ? 0 : 2;
  }
  const print = (value: unknown, text: () => string) => io.out(values.json ? JSON.stringify(value, null, 2) : text());

  switch (command) {
    case 'add-resident': {
      const input: ResidentInput = {
        displayName: required(values.name, 'name'),
        dong: required(values.dong, 'dong'),
        ...(values.id ? { id: values.id } : {}),
        ...(values.phone ? { phone: values.phone } : {}),
        ...(values['birth-year'] ? { birthYear: numberOption(values['birth-year'], 'birth-year') } : {}),
        ...(values['inactivity-hours'] ? { inactivityHours: numberOption(values['inactivity-hours'], 'inactivity-hours') } : {}),
      };
      const resident = registry.createResident(input);
      print(resident, () => `resident ${resident.id} (dong ${resident.dong}, inactivity window ${resident.inactivityHours} h)`);
      return 0;
    }
    case 'add-device': {
      const input = {
        residentId: required(values.resident, 'resident'),
        kind: required(values.kind, 'kind'),
        ...(values.id ? { id: values.id } : {}),
        ...(values['offline-after-minutes'] ? { offlineAfterMinutes: numberOption(values['offline-after-minutes'], 'offline-after-minutes') } : {}),
      } as DeviceInput;
      const { device, secret } = await registry.createDevice(input);
      print({ ...device, secret }, () =>
        [
          `device ${device.id} (${device.kind}) for resident ${device.residentId}`,
          `client id = username = ${device.id}`,
          `secret: ${secret}`,
          'The secret is shown this once; only its hash is kept. Configure the device with it now.',
        ].join('\n'),
      );
      return 0;
    }
    case 'list-residents': {
      const residents = registry.listResidents(values.dong ? [values.dong] : undefined);
      // Names stay in the registry: the listing shows ids and dongs only.
      print(residents.map(({ id, dong, enabled, inactivityHours }) => ({ id, dong, enabled, inactivityHours })), () =>
        residents.map((r) => `${r.id}\t${r.dong}\t${r.enabled ? 'enabled' : 'disabled'}\t${r.inactivityHours} h`).join('\n') || '(no residents)',
      );
      return 0;
    }
    case 'list-devices': {
      const devices = registry.listDevices(values.resident);
      print(devices, () =>
        devices.map((d) => `${d.id}\t${d.kind}\t${d.residentId}\t${d.dong}\t${d.enabled ? 'enabled' : 'disabled'}`).join('\n') || '(no devices)',
      );
      return 0;
    }
    case 'disable-device':
    case 'enable-device': {
      const device = registry.updateDevice(required(values.id ?? positionals[1], 'id'), { enabled: command === 'enable-device' });
      print(device, () => `device ${device.id} ${device.enabled ? 'enabled' : 'disabled'}`);
      return 0;
    }
    default:
      io.err(`unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

function describeError(err: unknown): string {
  if (err instanceof PlatformError) return `${err.code}: ${err.message}`;
  if (err instanceof ZodError) return err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n');
  return (err as Error).message;
}

async function main(): Promise<number> {
  const io: CliOutput = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
  let dataDir: string;
  try {
    dataDir = loadConfig().dataDir;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return 78; // EX_CONFIG
  }
  // The same store the platform opens; its bus has no listeners here.
  const registry = openRegistry(join(dataDir, 'registry.db'), { bus: createInProcessBus(() => {}), clock: systemClock });
  try {
    return await runRegistryCommand(process.argv.slice(2), registry, io);
  } catch (err) {
    io.err(describeError(err));
    return 1;
  } finally {
    registry.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
