import { describe, expect, it } from 'vitest';
import { assignScenarios, parseCli, parseDuration, parseScenarioMix, UsageError } from './options.js';

const defaults = { now: Date.UTC(2026, 10, 27, 0, 30), seed: 99 }; // 09:30 in Seoul
const run = (...argv: string[]) => {
  const command = parseCli(argv, defaults);
  if (command.kind !== 'run') throw new Error('expected a run');
  return command.options;
};

describe('simulator options', () => {
  it('defaults to ten normal homes at 60× for a minute, starting at the time of day in Seoul', () => {
    expect(run()).toMatchObject({ mode: 'scenario', mix: [{ name: 'normal' }], speed: 60, durationMs: 60_000, startMinute: 9 * 60 + 30, seed: 99, url: 'mqtt://127.0.0.1:1883' });
  });

  it('reads load mode, with the rate as 5000 or 5000/s', () => {
    expect(run('--load', '--devices', '2000', '--rate', '5000/s', '--duration', '20')).toMatchObject({ mode: 'load', devices: 2000, ratePerSecond: 5000, durationMs: 20_000, drainMs: 30_000, dong: 'sim-load' });
    expect(run('--load', '--rate', '250')).toMatchObject({ ratePerSecond: 250 });
  });

  it('refuses options of the other mode, unknown scenarios, bad numbers and foreign URLs', () => {
    expect(() => run('--load', '--scenario', 'sos')).toThrow(/--scenario belongs to scenario mode/);
    expect(() => run('--rate', '5')).toThrow(/--rate belongs to load mode/);
    expect(() => run('--scenario', 'normal,meteor')).toThrow(UsageError);
    expect(() => run('--homes', '2.5')).toThrow(/positive whole number/);
    expect(() => run('--speed', '0')).toThrow(/positive number/);
    expect(() => run('--url', 'http://x')).toThrow(/mqtt:\/\//);
    expect(() => run('--homes-file', 'h.json', '--scenario', 'sos')).toThrow(/keep what they were provisioned with/);
    expect(() => run('--bogus')).toThrow(UsageError);
    expect(() => run('--start-hour', '24:00')).toThrow(/start-hour/);
  });

  it('reads durations with units', () => {
    expect(parseDuration('duration', '90')).toBe(90_000);
    expect(parseDuration('duration', '1.5h')).toBe(5_400_000);
    expect(parseDuration('duration', '5m')).toBe(300_000);
    expect(() => parseDuration('duration', '5 minutes')).toThrow(UsageError);
  });

  it('cycles a plain scenario list over the homes', () => {
    expect(assignScenarios(parseScenarioMix('normal,sos'), 5)).toEqual(['normal', 'sos', 'normal', 'sos', 'normal']);
  });

  it('turns shares into exact counts spread over the homes', () => {
    const homes = assignScenarios(parseScenarioMix('normal:80,silent:10,sos:10'), 20);
    const count = (name: string) => homes.filter((h) => h === name).length;
    expect([count('normal'), count('silent'), count('sos')]).toEqual([16, 2, 2]);
    expect(homes.slice(0, 10).filter((h) => h !== 'normal')).toHaveLength(2); // spread, not bunched at the end
    // Few homes: the largest remainders win, so every share still rounds sensibly.
    expect(assignScenarios(parseScenarioMix('normal:80,silent:10,sos:10'), 5).filter((h) => h === 'normal')).toHaveLength(4);
    expect(() => parseScenarioMix('normal:80,sos')).toThrow(/every scenario a share/);
  });
});
