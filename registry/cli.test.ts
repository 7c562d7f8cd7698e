import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../core/bus.js';
import { systemClock } from '../core/clock.js';
import { runRegistryCommand } from './cli.js';
import { openRegistry, type Registry } from './store.js';

describe('the registry CLI', () => {
  let dir: string;
  let registry: Registry;
  let out: string[];
  let err: string[];
  const run = (...argv: string[]) => runRegistryCommand(argv, registry, { out: (l) => out.push(l), err: (l) => err.push(l) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dh-cli-'));
    registry = openRegistry(join(dir, 'registry.db'), { bus: createInProcessBus(() => {}), clock: systemClock });
    out = [];
    err = [];
  });
  afterEach(() => {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a device and prints its secret once, which then authenticates the device', async () => {
    expect(await run('add-resident', '--name', '김영자', '--dong', '1111051500', '--id', 'r_kim', '--json')).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ id: 'r_kim', dong: '1111051500', inactivityHours: 24 });
    out = [];
    expect(await run('add-device', '--resident', 'r_kim', '--kind', 'bp_monitor')).toBe(0);
    const text = out.join('\n');
    const id = /device (\S+) \(bp_monitor\)/.exec(text)?.[1];
    const secret = /secret: (\S+)/.exec(text)?.[1];
    expect(id).toBeDefined();
    expect(secret).toBeDefined();
    expect(await registry.authenticateDevice(id!, secret!)).toMatchObject({ id, residentId: 'r_kim', kind: 'bp_monitor' });
    out = [];
    expect(await run('list-devices', '--json')).toBe(0);
    const listed = JSON.parse(out.join('')) as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(secret!);
  });

  it('disables a device so it can no longer authenticate', async () => {
    await run('add-resident', '--name', '박순자', '--dong', '1111051500', '--id', 'r_park');
    out = [];
    await run('add-device', '--resident', 'r_park', '--kind', 'button', '--id', 'd_button', '--json');
    const { secret } = JSON.parse(out.join('')) as { secret: string };
    expect(await run('disable-device', '--id', 'd_button')).toBe(0);
    expect(await registry.authenticateDevice('d_button', secret)).toBeUndefined();
    expect(registry.getDevice('d_button')?.enabled).toBe(false);
  });

  it('lists residents without their names', async () => {
    await run('add-resident', '--name', '이말순', '--dong', '1111051500', '--phone', '010-0000-0000');
    out = [];
    await run('list-residents');
    expect(out.join('\n')).not.toMatch(/이말순|010-/);
  });

  it('refuses an unknown kind, a missing option and an unknown command', async () => {
    await run('add-resident', '--name', '최복례', '--dong', '1111051500', '--id', 'r_choi');
    await expect(run('add-device', '--resident', 'r_choi', '--kind', 'toaster')).rejects.toThrow();
    await expect(run('add-device', '--kind', 'button')).rejects.toThrow(/--resident is required/);
    expect(await run('frobnicate')).toBe(2);
    expect(err.join('')).toMatch(/unknown command/);
  });
});
