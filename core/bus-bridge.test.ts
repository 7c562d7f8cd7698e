import { describe, expect, it } from 'vitest';
import { createInProcessBus } from './bus.js';
import { bridgeBus } from './bus-bridge.js';

const bus = () => createInProcessBus((topic, err) => {
  throw new Error(`${topic}: ${String(err)}`);
});

describe('the bridge between a process bus and the services bus', () => {
  it('carries outbound topics out, in order, including what was published before the services bus was there', () => {
    const local = bus();
    const remote = bus();
    const out: number[] = [];
    remote.subscribe('alerts-cursor', (cursor) => out.push(cursor));
    const bridge = bridgeBus(local, { outbound: ['alerts-cursor'], inbound: [] });
    local.publish('alerts-cursor', 1);
    local.publish('alerts-cursor', 2);
    expect(out).toEqual([]);
    bridge.attach(remote);
    local.publish('alerts-cursor', 3);
    expect(out).toEqual([1, 2, 3]);
  });

  it('carries inbound topics in, and nothing of a topic it was not given', () => {
    const local = bus();
    const remote = bus();
    const seen: string[] = [];
    local.subscribe('staff', (s) => seen.push(`staff ${s.username}`));
    local.subscribe('alerts-cursor', (c) => seen.push(`cursor ${c}`));
    bridgeBus(local, { outbound: [], inbound: ['alerts-cursor'] }).attach(remote);
    remote.publish('alerts-cursor', 7);
    remote.publish('staff', { id: 's-1', username: 'kim', displayName: '김', role: 'staff', dongs: [] });
    expect(seen).toEqual(['cursor 7']);
  });

  it('refuses a topic both ways (it would echo for ever), and stops at close', () => {
    expect(() => bridgeBus(bus(), { outbound: ['alert'], inbound: ['alert'] })).toThrow(/one way only: alert/);
    const local = bus();
    const remote = bus();
    const out: number[] = [];
    remote.subscribe('alerts-cursor', (c) => out.push(c));
    const bridge = bridgeBus(local, { outbound: ['alerts-cursor'], inbound: [] });
    bridge.attach(remote);
    bridge.close();
    local.publish('alerts-cursor', 1);
    expect(out).toEqual([]);
  });
});
