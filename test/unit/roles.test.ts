import { describe, expect, it } from 'vitest';
import { AttributeBag } from '../../src/aaa/attributes.js';
import { HANDLED_MANDATORY_ARGUMENTS } from '../../src/aaa/tacacs/authorization.js';
import { bag, mapperFor, roleConfig } from '../roles/helpers.js';

/**
 * The built-in rules (no ROLE_RULES_FILE, no ROLE_MAP) keep the gateway's first mapping: every Class value and
 * every role name is a group, priv-lvl through PRIV_LVL_GROUP_TEMPLATE.
 */
describe('built-in rules: Cisco-AVPair role names', () => {
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
    expect(mapperFor({}).map(bag([['Cisco-AVPair', pair]])).groups).toEqual(roles);
  });
});

describe('built-in rules', () => {
  it('turns Class values and shell roles into groups after the defaults, without duplicates', () => {
    const decision = mapperFor({ DEFAULT_GROUPS: 'netbox-users' }).map(
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
    expect(decision).toMatchObject({ superuser: false, staff: false, denied: false });
  });

  it('gives a user with no roles the default groups', () => {
    expect(mapperFor({ DEFAULT_GROUPS: 'netbox-users' }).map(new AttributeBag()).groups).toEqual(['netbox-users']);
  });

  it('drops names NetBox cannot store as a group', () => {
    expect(mapperFor({ PRIV_LVL_GROUP_TEMPLATE: 'none' }).map(bag([['Class', 'g'.repeat(151)]])).groups).toEqual([]);
  });

  it('reads the TACACS+ authorization arguments deployments send', () => {
    const decision = mapperFor({}).map(
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
    expect(mapperFor({ PRIV_LVL_GROUP_TEMPLATE: 'none' }).map(bag([['priv-lvl', '15']])).groups).toEqual([]);
    const levels = mapperFor({ PRIV_LVL_GROUP_TEMPLATE: 'netbox-priv{n}' });
    expect(levels.map(bag([['priv-lvl', '01'], ['priv-lvl', '16'], ['priv-lvl', 'x']])).groups).toEqual(['netbox-priv1']);
  });

  it('reads every TACACS+ argument the client accepts as mandatory, and the client accepts every one it reads', () => {
    const { rules } = roleConfig({ PRIV_LVL_GROUP_TEMPLATE: 'p{n}' });
    const tacacsArguments = HANDLED_MANDATORY_ARGUMENTS.filter((name) => name !== 'service' && name !== 'cmd');
    // Class is RADIUS's; no TACACS+ server sends it.
    expect([...tacacsArguments].sort()).toEqual(rules.attributes.filter((name) => name !== 'class').sort());
    const mapper = mapperFor({ PRIV_LVL_GROUP_TEMPLATE: 'p{n}' });
    for (const name of tacacsArguments) {
      const value = name === 'priv-lvl' ? '3' : name === 'cisco-av-pair' ? 'shell:roles=x' : 'x';
      expect(mapper.map(bag([[name, value]])).groups, name).not.toEqual([]);
    }
  });

});
