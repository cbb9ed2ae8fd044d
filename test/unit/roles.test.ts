import { describe, expect, it } from 'vitest';
import { AttributeBag } from '../../src/aaa/attributes.js';
import { silentLogger } from '../../src/log.js';
import { AaaRolesAsGroups, shellRoles } from '../../src/roles/aaa-roles.js';

function bag(pairs: Array<[string, string]>): AttributeBag {
  const attributes = new AttributeBag();
  for (const [name, value] of pairs) attributes.add(name, value);
  return attributes;
}

describe('shellRoles', () => {
  it.each([
    ['shell:roles="network-admin vdc-admin"', ['network-admin', 'vdc-admin']],
    ['shell:roles=netbox-admin', ['netbox-admin']],
    ['shell:role=ops', ['ops']],
    ['shell:roles*"a,b"', ['a', 'b']],
    ['shell:roles = "a, b  c"', ['a', 'b', 'c']],
    ["shell:roles='x y'", ['x', 'y']],
    ['shell:priv-lvl=15', []],
    ['shell:roles=', []],
    ['ip:inacl#1=permit ip any any', []],
  ])('%s', (pair, roles) => {
    expect(shellRoles(pair)).toEqual(roles);
  });
});

describe('AaaRolesAsGroups', () => {
  it('turns Class values and shell roles into groups after the defaults, without duplicates', () => {
    const mapper = new AaaRolesAsGroups(['netbox-users'], silentLogger);
    const decision = mapper.map(
      bag([
        ['Class', 'netbox-admin'],
        ['class', 'netbox-ops'],
        ['Class', 'CACS:0a0a0a0a000001'],
        ['Cisco-AVPair', 'shell:roles="netbox-ops dcim-editors"'],
        ['Cisco-AVPair', 'shell:priv-lvl=15'],
        ['Filter-Id', 'ignored-for-now'],
      ]),
    );
    expect(decision.groups).toEqual(['netbox-users', 'netbox-admin', 'netbox-ops', 'dcim-editors']);
  });

  it('gives a user with no roles the default groups', () => {
    expect(new AaaRolesAsGroups(['netbox-users'], silentLogger).map(new AttributeBag()).groups).toEqual(['netbox-users']);
  });

  it('drops names NetBox cannot store as a group', () => {
    expect(new AaaRolesAsGroups([], silentLogger).map(bag([['Class', 'g'.repeat(151)]])).groups).toEqual([]);
  });
});
