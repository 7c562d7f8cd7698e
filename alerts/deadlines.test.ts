import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineIndex } from './deadlines.js';

describe('DeadlineIndex', () => {
  it('hands out only the keys that are due, earliest first', () => {
    const index = new DeadlineIndex();
    index.schedule('c', 30);
    index.schedule('a', 10);
    index.schedule('b', 20);
    expect(index.takeDue(9)).toEqual([]);
    expect(index.takeDue(20)).toEqual(['a', 'b']);
    expect(index.takeDue(1000)).toEqual(['c']);
    expect(index.size).toBe(0);
  });

  it('keeps the earlier of two schedules of one key and hands the key out once', () => {
    const index = new DeadlineIndex();
    index.schedule('a', 50);
    index.schedule('a', 20); // earlier wins
    index.schedule('a', 80); // later is ignored: the owner reschedules when the key comes up
    expect(index.dueOf('a')).toBe(20);
    expect(index.takeDue(100)).toEqual(['a']);
    expect(index.takeDue(100)).toEqual([]);
  });

  it('forgets a cancelled key', () => {
    const index = new DeadlineIndex();
    index.schedule('a', 10);
    index.schedule('b', 10);
    index.cancel('a');
    expect(index.takeDue(10)).toEqual(['b']);
    expect(index.peek()).toBeUndefined();
  });

  it('can schedule a key again after handing it out', () => {
    const index = new DeadlineIndex();
    index.schedule('a', 10);
    expect(index.takeDue(10)).toEqual(['a']);
    index.schedule('a', 40);
    expect(index.peek()).toBe(40);
    expect(index.takeDue(40)).toEqual(['a']);
  });

  it('agrees with a plain map of earliest deadlines under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), due: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('cancel' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      fc.record({ kind: fc.constant('take' as const), now: fc.integer({ min: 0, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const index = new DeadlineIndex();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'schedule') {
            index.schedule(o.key, o.due);
            if (!model.has(o.key) || model.get(o.key)! > o.due) model.set(o.key, o.due);
          } else if (o.kind === 'cancel') {
            index.cancel(o.key);
            model.delete(o.key);
          } else {
            const expected = [...model].filter(([, due]) => due <= o.now).sort((x, y) => x[1] - y[1]);
            const taken = index.takeDue(o.now);
            expect(new Set(taken)).toEqual(new Set(expected.map(([key]) => key)));
            expect(taken.map((k) => model.get(k))).toEqual([...expected.map(([, due]) => due)].sort((x, y) => x - y));
            for (const [key] of expected) model.delete(key);
          }
          expect(index.size).toBe(model.size);
        }
      }),
    );
  });
});
