import { describe, expect, it } from 'vitest';
import { AttributeBag } from '../../src/aaa/attributes.js';
import { silentLogger } from '../../src/log.js';
import { HANDLED_MANDATORY_ARGUMENTS } from '../../src/aaa/tacacs/authorization.js';
import { AaaRolesAsGroups, shellRoles, TACACS_ROLE_ARGUMENTS } from '../../src/roles/aaa-roles.js';

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
    const mapper = new AaaRolesAsGroups({ defaultGroups: ['netbox-users'], privLvlGroupTemplate: 'tacacs-priv-{n}' }, silentLogger);
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
    expect(new AaaRolesAsGroups({ defaultGroups: ['netbox-users'], privLvlGroupTemplate: 'tacacs-priv-{n}' }, silentLogger).map(new AttributeBag()).groups).toEqual(['netbox-users']);
  });

  it('drops names NetBox cannot store as a group', () => {
    expect(new AaaRolesAsGroups({ defaultGroups: [], privLvlGroupTemplate: undefined }, silentLogger).map(bag([['Class', 'g'.repeat(151)]])).groups).toEqual([]);
  });

  it('reads the TACACS+ authorization arguments deployments send', () => {
    const mapper = new AaaRolesAsGroups({ defaultGroups: [], privLvlGroupTemplate: 'tacacs-priv-{n}' }, silentLogger);
    const decision = mapper.map(
      bag([
        ['priv-lvl', '15'],
        ['shell:roles', '"netbox-admin netbox-ops"'],
        ['role', 'dcim-editors'],
        ['cisco-av-pair', 'shell:roles="ipam-editors"'],
        ['memberof', 'CN=x'],
      ]),
    );
    expect([...decision.groups].sort()).toEqual(['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-ops', 'tacacs-priv-15']);
  });

  it('maps priv-lvl only through the template, and only real levels', () => {
    const none = new AaaRolesAsGroups({ defaultGroups: [], privLvlGroupTemplate: undefined }, silentLogger);
    expect(none.map(bag([['priv-lvl', '15']])).groups).toEqual([]);
    const levels = new AaaRolesAsGroups({ defaultGroups: [], privLvlGroupTemplate: 'netbox-priv{n}' }, silentLogger);
    expect(levels.map(bag([['priv-lvl', '01'], ['priv-lvl', '16'], ['priv-lvl', 'x']])).groups).toEqual(['netbox-priv1']);
  });

  it('reads every TACACS+ argument the client accepts as mandatory, and the client accepts every one it reads', () => {
    expect([...HANDLED_MANDATORY_ARGUMENTS].sort()).toEqual(['cmd', 'service', ...TACACS_ROLE_ARGUMENTS].sort());
    const mapper = new AaaRolesAsGroups({ defaultGroups: [], privLvlGroupTemplate: 'p{n}' }, silentLogger);
    for (const name of TACACS_ROLE_ARGUMENTS) {
      const value = name === 'priv-lvl' ? '3' : name === 'cisco-av-pair' ? 'shell:roles=x' : 'x';
      expect(mapper.map(bag([[name, value]])).groups, name).not.toEqual([]);
    }
  });
});
