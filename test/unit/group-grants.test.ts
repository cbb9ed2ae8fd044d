import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { managedSync } from '../../src/netbox/group-grants.js';
import { assertProperty } from '../support/property.js';

/** Under the built-in rules every role becomes a group of that name: every group counts as one the rules produce. */
const builtIn = (): boolean => true;
const sorted = (names: readonly string[]) => [...names].sort();

describe('managedSync', () => {
  it('keeps a group an administrator assigned by hand, even one the rules could produce, once the user has a record', () => {
    const sync = managedSync(['netbox-ops', 'hand-picked'], ['netbox-ops'], ['netbox-ops'], builtIn);
    expect(sorted(sync.groups)).toEqual(['hand-picked', 'netbox-ops']);
    expect(sync.granted).toEqual(['netbox-ops']);
  });

  it('removes a group it granted once the AAA server no longer sends the role, and adds and records a new one', () => {
    const sync = managedSync(['netbox-ops', 'netbox-dcim', 'hand-picked'], ['netbox-ops', 'netbox-ipam'], ['netbox-ops', 'netbox-dcim'], builtIn);
    expect(sorted(sync.groups)).toEqual(['hand-picked', 'netbox-ipam', 'netbox-ops']);
    expect(sorted(sync.granted)).toEqual(['netbox-ipam', 'netbox-ops']);
    // Before the change the record claims both what it owned and what it is about to own.
    expect(sorted(sync.grantedMeanwhile)).toEqual(['netbox-dcim', 'netbox-ipam', 'netbox-ops']);
  });

  it('without a record (first login after the upgrade, or a lost store), takes what the rules can produce for its own', () => {
    const sync = managedSync(['netbox-ops', 'netbox-dcim', 'change-board'], ['netbox-ops'], undefined, (group) => group.startsWith('netbox-'));
    expect(sorted(sync.groups)).toEqual(['change-board', 'netbox-ops']);
    expect(sync.granted).toEqual(['netbox-ops']);
    // Under the built-in rules that includes a hand-assigned group: the record was lost, so it errs toward removing.
    expect(managedSync(['netbox-ops', 'hand-picked'], ['netbox-ops'], undefined, builtIn).groups).toEqual(['netbox-ops']);
  });

  it('leaves a wanted group that was there by hand to the administrator: it is not recorded as granted', () => {
    const sync = managedSync(['netbox-ops'], ['netbox-ops'], [], builtIn);
    expect(sync.groups).toEqual(['netbox-ops']);
    expect(sync.granted).toEqual([]);
  });

  it('over any run of logins, hand assignments and lost records: never keeps a group it granted that AAA no longer sends', () => {
    type Step = { kind: 'login'; wanted: string[] } | { kind: 'hand'; group: string } | { kind: 'unassign'; group: string } | { kind: 'lose-record' };
    const name = fc.constantFrom('netbox-a', 'netbox-b', 'netbox-c', 'ops', 'hand-1', 'hand-2');
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('login' as const), wanted: fc.uniqueArray(name, { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('hand' as const), group: name }),
      fc.record({ kind: fc.constant('unassign' as const), group: name }),
      fc.constant({ kind: 'lose-record' as const }),
    );
    assertProperty(
      fc.property(fc.boolean(), fc.uniqueArray(name, { maxLength: 4 }), fc.array(step, { maxLength: 25 }), (builtInRules, first, steps) => {
        const manages = builtInRules ? builtIn : (group: string) => !group.startsWith('hand-');
        // The truth the gateway cannot see: who put each group there.
        const firstWanted = first.filter(manages);
        const who = new Map<string, 'gateway' | 'admin'>(firstWanted.map((group) => [group, 'gateway']));
        let record: readonly string[] | undefined = firstWanted;
        // Hand assignments made while the record existed, of groups it does not list: those must survive every login.
        // The administrator's too, but indistinguishable at the next login, which errs toward removing: one made after
        // the record was lost, and one that gives back a group the gateway had granted and the administrator took away.
        const protectedByRecord = new Set<string>();
        for (const current of steps) {
          if (current.kind === 'hand' && !who.has(current.group)) {
            who.set(current.group, 'admin');
            if (record !== undefined && !record.includes(current.group)) protectedByRecord.add(current.group);
          } else if (current.kind === 'unassign') {
            who.delete(current.group);
            protectedByRecord.delete(current.group);
          } else if (current.kind === 'lose-record') {
            record = undefined;
            protectedByRecord.clear();
          } else if (current.kind === 'login') {
            const wanted = current.wanted.filter(manages);
            const before = new Map(who);
            const sync = managedSync([...who.keys()], wanted, record, manages);
            record = sync.granted;
            who.clear();
            for (const group of sync.groups) who.set(group, before.get(group) ?? 'gateway');
            for (const group of wanted) expect(who.has(group)).toBe(true);
            for (const [group, by] of who) if (by === 'gateway') expect(wanted).toContain(group);
            for (const group of protectedByRecord) if (before.get(group) === 'admin') expect(who.get(group)).toBe('admin');
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
