import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeBag } from '../../src/aaa/attributes.js';
import { createRoleMapper } from '../../src/config/roles.js';
import { silentLogger } from '../../src/log.js';
import { allowPattern, anchoredLiteralPrefix, MAX_GROUP_NAME } from '../../src/roles/policy.js';
import type { RoleRules } from '../../src/roles/rules.js';
import { parseTemplate } from '../../src/roles/template.js';
import { recorder } from '../support/log-recorder.js';
import { assertProperty } from '../support/property.js';
import { bag, mapperFromYaml } from './helpers.js';

describe('rules', () => {
  it('fills {1}.. with the captures and {0} with the whole value, even when the regex matched only part of it', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: Class, match: "^netbox-(\\\\w+)-(\\\\w+)$", groups: ["nb-{2}-{1}"] }
  - { attribute: Filter-Id, match: "ops", groups: ["seen-{0}"] }
  - { attribute: Reply-Message, match: "^(x)?(y)$", groups: ["a{1}b{2}"] }
`);
    const decision = mapper.map(bag([['Class', 'netbox-dcim-editors'], ['Filter-Id', 'team-ops-1'], ['Reply-Message', 'y']]));
    expect(decision.groups).toEqual(['nb-editors-dcim', 'seen-team-ops-1', 'aby']);
  });

  it('tries every value of every attribute a rule names, with attribute names in any case', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: [class, ROLE], match: "^netbox-", groups: ["{0}"] }
`);
    const decision = mapper.map(bag([['Class', 'netbox-a'], ['CLASS', 'netbox-b'], ['role', 'netbox-c'], ['Class', 'other']]));
    expect(decision.groups).toEqual(['netbox-a', 'netbox-b', 'netbox-c']);
    expect(decision.explanation).toEqual([
      'rule 1 (class|ROLE ~ /^netbox-/) matched class "netbox-a" → netbox-a',
      'rule 1 (class|ROLE ~ /^netbox-/) matched class "netbox-b" → netbox-b',
      'rule 1 (class|ROLE ~ /^netbox-/) matched ROLE "netbox-c" → netbox-c',
      'no rule matched class "other"',
    ]);
  });

  it('matches case-sensitively unless the rule says ignoreCase', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: Class, match: "^Admins$", groups: [exact] }
  - { attribute: Class, match: "^admins$", ignoreCase: true, groups: [any-case] }
`);
    expect(mapper.map(bag([['Class', 'ADMINS']])).groups).toEqual(['any-case']);
    expect(mapper.map(bag([['Class', 'Admins']])).groups).toEqual(['exact', 'any-case']);
  });

  it('maps numeric ranges inclusively, {0} being the level in canonical form, and skips what is not a whole number', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: priv-lvl, range: { min: 15, max: 15 }, groups: [netbox-admin] }
  - { attribute: priv-lvl, range: { min: 1, max: 14 }, groups: [netbox-readonly, "level-{0}"] }
  - { attribute: Aruba-Priv-Admin-User, range: { min: -1, max: 1 }, groups: ["aruba-{0}"] }
`);
    expect(mapper.map(bag([['priv-lvl', '15']])).groups).toEqual(['netbox-admin']);
    expect(mapper.map(bag([['priv-lvl', '014']])).groups).toEqual(['netbox-readonly', 'level-14']);
    expect(mapper.map(bag([['priv-lvl', '1']])).groups).toEqual(['netbox-readonly', 'level-1']);
    expect(mapper.map(bag([['priv-lvl', '0'], ['priv-lvl', '16'], ['priv-lvl', '7.5'], ['priv-lvl', 'x'], ['priv-lvl', '1e1']])).groups).toEqual([]);
    expect(mapper.map(bag([['Aruba-Priv-Admin-User', '-1'], ['Aruba-Priv-Admin-User', '+1']])).groups).toEqual(['aruba--1', 'aruba-1']);
  });

  it('gives each group once, in the order first given, defaults first', () => {
    const mapper = mapperFromYaml(`
defaultGroups: [netbox-users]
rules:
  - { attribute: Class, match: ".", groups: ["{0}", netbox-users] }
  - { attribute: role, match: ".", groups: ["{0}"] }
`);
    expect(mapper.map(bag([['role', 'b'], ['Class', 'a'], ['Class', 'b']])).groups).toEqual(['netbox-users', 'a', 'b']);
  });

  it('stops evaluating later rules after a rule with stop matched, but finishes that rule', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: role, match: "^x$", groups: [never] }
  - { attribute: priv-lvl, range: { min: 15, max: 15 }, groups: [netbox-admin], stop: true }
  - { attribute: role, match: ".", groups: ["{0}"] }
  - { attribute: Class, match: ".", groups: ["{0}"] }
`);
    const admin = mapper.map(bag([['priv-lvl', '15'], ['priv-lvl', '15'], ['role', 'ops'], ['Class', 'c']]));
    expect(admin.groups).toEqual(['netbox-admin']);
    expect(admin.explanation).toEqual([
      'rule 2 (priv-lvl in 15..15) matched "15" → netbox-admin',
      'rule 2 (priv-lvl in 15..15) matched "15" → netbox-admin',
      'rule 2 stops: later rules were not evaluated',
      'no rule matched role "ops"',
    ]);
    expect(mapper.map(bag([['priv-lvl', '1'], ['role', 'ops']])).groups).toEqual(['ops']);
  });
});

describe('ignore', () => {
  it('skips matching values of the named attribute before any rule, and says so once per value', () => {
    const mapper = mapperFromYaml(`
ignore: [{ attribute: Class, match: "^CACS:" }]
rules:
  - { attribute: Class, match: ".", groups: ["{0}"] }
  - { attribute: [Class, Filter-Id], match: "CACS", groups: [never] }
`);
    const decision = mapper.map(bag([['Class', 'CACS:0a0b:ise/1'], ['Class', 'netbox-ops'], ['Filter-Id', 'CACS:x']]));
    expect(decision.groups).toEqual(['netbox-ops', 'never']);
    expect(decision.explanation).toEqual([
      'ignored Class "CACS:0a0b:ise/1" (ignore /^CACS:/)',
      'rule 1 (Class ~ /./) matched "netbox-ops" → netbox-ops',
      'rule 2 (Class|Filter-Id ~ /CACS/) matched Filter-Id "CACS:x" → never',
    ]);
  });

  it('without an attribute, skips matching values of every attribute', () => {
    const mapper = mapperFromYaml(`
ignore: [{ match: "^(?:none|n/a)$" }]
rules:
  - { attribute: [Class, role], match: ".", groups: ["{0}"] }
`);
    expect(mapper.map(bag([['Class', 'none'], ['role', 'n/a'], ['role', 'ops']])).groups).toEqual(['ops']);
  });
});

describe('allow-list and deny prefixes', () => {
  const yaml = `
allow: ["^netbox-", "^netbox-admin-dcim$"]
denyPrefixes: [netbox-admin-]
rules:
  - { attribute: Class, match: ".", groups: ["{0}"] }
`;

  it('refuses names outside the allow-list and names under a deny prefix, any case, with the reason', () => {
    const decision = mapperFromYaml(yaml).map(
      bag([['Class', 'netbox-ops'], ['Class', 'ops'], ['Class', 'netbox-admin-typo'], ['Class', 'NetBox-Admin-x'], ['Class', 'netbox-admin-dcim']]),
    );
    expect(decision.groups).toEqual(['netbox-ops', 'netbox-admin-dcim']);
    expect(decision.explanation).toEqual([
      'rule 1 (Class ~ /./) matched "netbox-ops" → netbox-ops',
      'rule 1 (Class ~ /./) matched "ops" → no group',
      'refused group "ops": not in the allow-list',
      'rule 1 (Class ~ /./) matched "netbox-admin-typo" → no group',
      'refused group "netbox-admin-typo": denied prefix netbox-admin-',
      'rule 1 (Class ~ /./) matched "NetBox-Admin-x" → no group',
      'refused group "NetBox-Admin-x": denied prefix netbox-admin-',
      'rule 1 (Class ~ /./) matched "netbox-admin-dcim" → netbox-admin-dcim',
    ]);
  });

  it('lets only an allow pattern anchored on the spelled-out prefix re-open a denied prefix', () => {
    const broad = mapperFromYaml(`
allow: ["^netbox-", "^(netbox-admin-x)$", "netbox-admin-y$", "^netbox-admin-z|^q"]
denyPrefixes: [netbox-admin-]
rules:
  - { attribute: Class, match: ".", groups: ["{0}"] }
`);
    const attributes = bag(['x', 'y', 'z'].map((suffix) => ['Class', `netbox-admin-${suffix}`] as const));
    expect(broad.map(attributes).groups).toEqual([]);
    const explicit = mapperFromYaml(`
allow: ["^netbox-admin-(x|y)$", "^netbox-admin-z"]
denyPrefixes: [netbox-admin-]
rules:
  - { attribute: Class, match: ".", groups: ["{0}"] }
`);
    expect(explicit.map(attributes).groups).toEqual(['netbox-admin-x', 'netbox-admin-y', 'netbox-admin-z']);
  });

  it('refuses names longer than NetBox stores, counted in characters, and names with control characters', () => {
    const mapper = mapperFromYaml(`
rules:
  - { attribute: Class, match: ".", groups: ["{0}"] }
`);
    const fits = 'é'.repeat(MAX_GROUP_NAME);
    const decision = mapper.map(bag([['Class', fits], ['Class', `g${'é'.repeat(MAX_GROUP_NAME)}`], ['Class', 'a\u0007b']]));
    expect(decision.groups).toEqual([fits]);
    expect(decision.explanation.filter((line) => line.startsWith('refused'))).toEqual([
      `refused group "g${'é'.repeat(MAX_GROUP_NAME)}": 151 characters, NetBox allows 150`,
      'refused group "a\\u0007b": the name contains control characters',
    ]);
  });

  it('logs each refused name as a warning (the sign-in logs the whole explanation at debug level)', () => {
    const logger = recorder();
    mapperFromYaml(yaml, {}, logger).map(bag([['Class', 'netbox-admin-typo'], ['Class', 'netbox-ok']]));
    expect(logger.lines).toEqual(['warn role mapping refused a group name {"group":"netbox-admin-typo","reason":"denied prefix netbox-admin-"}']);
  });
});

describe('default groups, REQUIRE_ROLE, superuser and staff', () => {
  const yaml = `
defaultGroups: [netbox-users]
allow: ["^netbox-"]
superuserGroups: [netbox-admin]
staffGroups: [netbox-admin, netbox-staff]
requireRole: true
rules:
  - { attribute: Class, match: "^netbox-(.+)$", groups: ["netbox-{1}"] }
  - { attribute: priv-lvl, range: { min: 15, max: 15 }, groups: [netbox-admin] }
`;

  it('admits a user a rule gave a group, with the default groups, and tells superuser and staff apart', () => {
    const decision = mapperFromYaml(yaml).map(bag([['Class', 'netbox-ops'], ['priv-lvl', '15']]));
    expect(decision).toEqual({
      groups: ['netbox-users', 'netbox-ops', 'netbox-admin'],
      superuser: true,
      staff: true,
      denied: false,
      explanation: [
        'rule 1 (Class ~ /^netbox-(.+)$/) matched "netbox-ops" → netbox-ops',
        'rule 2 (priv-lvl in 15..15) matched "15" → netbox-admin',
        'default groups: netbox-users',
        'superuser: member of netbox-admin',
        'staff: member of netbox-admin',
      ],
    });
    const operator = mapperFromYaml(yaml).map(bag([['Class', 'netbox-staff']]));
    expect(operator).toMatchObject({ groups: ['netbox-users', 'netbox-staff'], superuser: false, staff: true, denied: false });
    expect(operator.explanation.slice(-2)).toEqual(['superuser: not a member of netbox-admin', 'staff: member of netbox-staff']);
  });

  it('denies a user no rule matched: default groups alone do not count', () => {
    const decision = mapperFromYaml(yaml).map(bag([['Class', 'other'], ['priv-lvl', '1']]));
    expect(decision).toEqual({
      groups: [],
      superuser: false,
      staff: false,
      denied: true,
      explanation: ['no rule matched Class "other"', 'no rule matched priv-lvl "1"', 'default groups: netbox-users', 'no rule matched; REQUIRE_ROLE denies the login'],
    });
  });

  it('denies a user whose matches gave only refused names', () => {
    const decision = mapperFromYaml(yaml.replace('"netbox-{1}"', '"x-{1}"')).map(bag([['Class', 'netbox-ops']]));
    expect(decision.denied).toBe(true);
    expect(decision.explanation.at(-1)).toBe('no rule gave an allowed group; REQUIRE_ROLE denies the login');
  });

  it('without REQUIRE_ROLE, gives a user no rule matched the default groups', () => {
    const decision = mapperFromYaml(yaml.replace('requireRole: true', 'requireRole: false')).map(new AttributeBag());
    expect(decision).toMatchObject({ groups: ['netbox-users'], denied: false, superuser: false, staff: false });
  });
});

describe('manages', () => {
  const mapper = mapperFromYaml(`
defaultGroups: [netbox-users]
allow: ["^netbox-", "^tacacs-priv-", "^ops$", "^netbox-admin-dcim$"]
denyPrefixes: [netbox-admin-]
superuserGroups: [netbox-admin]
staffGroups: [ops]
rules:
  - { attribute: Class, match: "^netbox-(.+)$", groups: ["netbox-{1}"] }
  - { attribute: priv-lvl, range: { min: 0, max: 15 }, groups: ["tacacs-priv-{0}"] }
`);

  it.each([
    ['netbox-users', true, 'a default group'],
    ['netbox-admin', true, 'a superuser group (and producible)'],
    ['ops', true, 'a staff group'],
    ['netbox-anything', true, 'what netbox-{1} can yield'],
    ['netbox-', true, 'an empty capture'],
    ['tacacs-priv-7', true, 'what a range template can yield'],
    ['tacacs-priv-x', false, 'not a number'],
    ['netbox-admin-typo', false, 'a denied prefix'],
    ['netbox-admin-dcim', true, 'a denied prefix the allow-list re-opens'],
    ['hand-made', false, 'nothing yields it'],
    ['NETBOX-USERS', false, 'group names are exact'],
    [`netbox-${'x'.repeat(144)}`, false, 'longer than NetBox stores'],
  ])('%s: %s (%s)', (group, managed) => {
    expect(mapper.manages(group)).toBe(managed);
  });

  it('manages every name under the built-in rules, which turn any role value into a group', () => {
    const builtIn = mapperFromYaml('rules: [{ attribute: Class, match: ".", groups: ["{0}"] }]');
    expect(builtIn.manages('anything at all')).toBe(true);
    expect(builtIn.manages('')).toBe(false);
  });
});

describe('anchoredLiteralPrefix', () => {
  it.each([
    ['^netbox-admin-dcim$', 'netbox-admin-dcim'],
    ['^netbox-(a|b)', 'netbox-'],
    ['^netbox\\.admin', 'netbox.admin'],
    ['^netbox-admins?', 'netbox-admin'],
    ['^netbox-admin-x*', 'netbox-admin-'],
    ['^netbox-admin-x+', 'netbox-admin-x'],
    ['^netbox-x{2}', 'netbox-'],
    ['^netbox\\d', 'netbox'],
    ['netbox-admin-x', ''],
    ['^netbox-admin-x|^y', ''],
    ['^netbox-(admin-x|y)', 'netbox-'],
    ['^[|]netbox', ''],
    ['^a[b|c]', 'a'],
  ])('%s → %s', (source, prefix) => {
    expect(anchoredLiteralPrefix(source)).toBe(prefix);
  });
});

describe('the policy holds whatever the AAA server sends', () => {
  const name = fc.stringMatching(/^[a-z-]{0,12}$/);
  it('gives no group outside the allow-list, under a deny prefix without an explicit allow, empty, or over 150 characters', () => {
    assertProperty(
      fc.property(
        fc.array(fc.constantFrom('^netbox-', '^ops$', '^netbox-admin-x$', 'a', '^x-{0,3}'), { maxLength: 3 }),
        fc.array(fc.constantFrom('netbox-admin-', 'x-', 'NETBOX-'), { maxLength: 2 }),
        fc.array(fc.constantFrom('{0}', 'netbox-{1}', '{1}{1}{1}', 'x-{0}', 'netbox-admin-{1}'), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.constantFrom('Class', 'class', 'role'), fc.oneof(name, fc.string({ maxLength: 80 }), fc.string({ minLength: 140, maxLength: 160 }))), { maxLength: 6 }),
        (allow, denyPrefixes, groups, attributes) => {
          const rules: RoleRules = {
            origin: 'property',
            rules: [{ label: 'rule 1', attributes: ['Class', 'role'], test: { kind: 'regex', regex: /^(.*)$/s }, groups: groups.map(parseTemplate), stop: false }],
            ignore: [],
            policy: { allow: allow.map((source) => allowPattern(new RegExp(source))), denyPrefixes },
            defaultGroups: ['netbox-users', 'ops'],
            superuserGroups: [],
            staffGroups: [],
            requireRole: false,
            attributes: ['class', 'role'],
          };
          const bagOf = new AttributeBag();
          for (const [attribute, value] of attributes) bagOf.add(attribute, value);
          const mapper = createRoleMapper(rules, silentLogger);
          for (const group of mapper.map(bagOf).groups) {
            expect(group).not.toBe('');
            expect([...group].length).toBeLessThanOrEqual(150);
            if (allow.length > 0) expect(allow.some((source) => new RegExp(source).test(group))).toBe(true);
            for (const prefix of denyPrefixes) {
              if (group.toLowerCase().startsWith(prefix.toLowerCase())) {
                // Only an allow pattern that spells the prefix out right after ^ may let such a name through.
                const explicit = allow.filter((source) => source.toLowerCase().startsWith(`^${prefix.toLowerCase()}`));
                expect(explicit.some((source) => new RegExp(source).test(group))).toBe(true);
              }
            }
            expect(mapper.manages(group)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
