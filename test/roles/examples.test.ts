import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseAttributes } from '../../src/aaa/attributes.js';
import { parseBagText } from '../../src/roles/bag-input.js';
import type { RoleDecision } from '../../src/roles/types.js';
import { mapperFor } from './helpers.js';

const EXAMPLES = 'examples/roles';

/** Each shipped sample bag, the example rules it belongs to, and exactly what the gateway must make of it. */
const CASES: ReadonlyArray<{ bag: string; rules: string; expected: Omit<RoleDecision, 'explanation'> }> = [
  { bag: 'cisco-ise.bag.json', rules: 'cisco-ise.yaml', expected: { groups: ['netbox-operators'], superuser: false, staff: false, denied: false } },
  {
    bag: 'cisco-ise-tacacs.bag.json',
    rules: 'cisco-ise.yaml',
    expected: { groups: ['netbox-dcim-editors', 'netbox-admin'], superuser: true, staff: false, denied: false },
  },
  {
    bag: 'freeradius.bag.json',
    rules: 'freeradius.yaml',
    expected: {
      groups: ['netbox-users', 'netbox-admin', 'netbox-operators', 'netbox-dcim-editors', 'netbox-ipam-editors'],
      superuser: true,
      staff: false,
      denied: false,
    },
  },
  { bag: 'freeradius-typo.bag.json', rules: 'freeradius.yaml', expected: { groups: ['netbox-users'], superuser: false, staff: false, denied: false } },
  { bag: 'microsoft-nps.bag.json', rules: 'microsoft-nps.yaml', expected: { groups: ['netbox-operators'], superuser: false, staff: false, denied: false } },
  { bag: 'microsoft-nps-no-role.bag.json', rules: 'microsoft-nps.yaml', expected: { groups: [], superuser: false, staff: false, denied: true } },
  {
    bag: 'aruba-clearpass.bag.json',
    rules: 'aruba-clearpass.yaml',
    expected: { groups: ['netbox-readonly', 'netbox-dcim-editors'], superuser: false, staff: false, denied: false },
  },
  { bag: 'fortiauthenticator.bag.json', rules: 'fortiauthenticator.yaml', expected: { groups: ['netbox-admin'], superuser: true, staff: true, denied: false } },
  { bag: 'tac_plus.bag.json', rules: 'tac_plus.yaml', expected: { groups: ['netbox-admin'], superuser: true, staff: false, denied: false } },
  {
    bag: 'tac_plus-operator.bag.json',
    rules: 'tac_plus.yaml',
    expected: { groups: ['netbox-operators', 'netbox-ipam-editors'], superuser: false, staff: false, denied: false },
  },
];

describe('vendor examples', () => {
  it.each(CASES)('$rules with $bag', ({ bag, rules, expected }) => {
    const mapper = mapperFor({ ROLE_RULES_FILE: join(EXAMPLES, rules) });
    const attributes = normaliseAttributes(parseBagText(readFileSync(join(EXAMPLES, bag), 'utf8')));
    const { explanation, ...decision } = mapper.map(attributes);
    expect(decision).toEqual(expected);
    expect(explanation.length).toBeGreaterThan(0);
  });

  it('covers every shipped example and sample bag', () => {
    const files = readdirSync(EXAMPLES);
    expect(new Set(CASES.map((c) => c.bag))).toEqual(new Set(files.filter((file) => file.endsWith('.bag.json'))));
    expect(new Set(CASES.map((c) => c.rules))).toEqual(new Set(files.filter((file) => file.endsWith('.yaml'))));
  });

  it('the FreeRADIUS example puts Cisco-AVPair shell:priv-lvl=15 alone into the admin group', () => {
    const mapper = mapperFor({ ROLE_RULES_FILE: join(EXAMPLES, 'freeradius.yaml') });
    const decision = mapper.map(normaliseAttributes([{ name: 'Cisco-AVPair', value: 'shell:priv-lvl=15' }]));
    expect(decision).toMatchObject({ groups: ['netbox-users', 'netbox-admin'], superuser: true, denied: false });
  });
});
