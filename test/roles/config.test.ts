import { describe, expect, it } from 'vitest';
import { bag, mapperFor, problemsOf, roleConfig, rulesFile } from './helpers.js';

/** Problems of a rules file with this text, with its path shown as FILE. */
function fileProblems(text: string, env: Record<string, string> = {}): string[] {
  const path = rulesFile(text);
  return problemsOf({ ...env, ROLE_RULES_FILE: path }).map((problem) => problem.replaceAll(path, 'FILE'));
}

describe('rules file problems, each at its line and column', () => {
  it('reports unknown keys, with a suggestion when one is close', () => {
    expect(
      fileProblems(`defaultGroup: [netbox-users]
rules:
  - attribute: Class
    macth: "^netbox-"
    groups: [x]
    colour: blue
`),
    ).toEqual([
      'ROLE_RULES_FILE: FILE:1:1: unknown key "defaultGroup" in the rules file; did you mean "defaultGroups"?',
      'ROLE_RULES_FILE: FILE:3:5: rule 1 needs match (a regular expression) or range ({ min, max })',
      'ROLE_RULES_FILE: FILE:4:5: unknown key "macth" in rule 1; did you mean "match"?',
      'ROLE_RULES_FILE: FILE:6:5: unknown key "colour" in rule 1 (known: attribute, match, range, groups, ignoreCase, stop)',
    ]);
  });

  it('reports wrong types where the value is', () => {
    expect(
      fileProblems(`requireRole: "yes"
allow: "^netbox-"
superuserGroups: [netbox-admin, [nested]]
rules:
  - { attribute: Class, match: 15, groups: [a], stop: 1 }
  - { attribute: { name: Class }, match: ".", groups: [a], ignoreCase: on }
  - just a string
  - { attribute: priv-lvl, range: [1, 15], groups: [a] }
  - { attribute: priv-lvl, range: { min: 1.5, max: "15" }, groups: [a] }
  - { attribute: Class, match:, groups: [a] }
`),
    ).toEqual([
      'ROLE_RULES_FILE: FILE:1:14: requireRole must be true or false, got the string "yes"',
      'ROLE_RULES_FILE: FILE:2:8: allow must be a list of regular expressions, got the string "^netbox-"',
      'ROLE_RULES_FILE: FILE:3:33: superuserGroups must be a list of group names, got a list',
      'ROLE_RULES_FILE: FILE:5:32: match must be a regular expression (a string), got the number 15',
      'ROLE_RULES_FILE: FILE:5:55: stop must be true or false, got the number 1',
      'ROLE_RULES_FILE: FILE:6:18: attribute must be an attribute name or a list of them, got a mapping',
      'ROLE_RULES_FILE: FILE:6:72: ignoreCase must be true or false, got the string "on"',
      'ROLE_RULES_FILE: FILE:7:5: rule 3 must be a mapping, got the string "just a string"',
      'ROLE_RULES_FILE: FILE:8:35: range must be a mapping { min, max }, got a list',
      'ROLE_RULES_FILE: FILE:9:42: range min must be a whole number, got the number 1.5',
      'ROLE_RULES_FILE: FILE:9:52: range max must be a whole number, got the string "15"',
      'ROLE_RULES_FILE: FILE:10:25: match must be a regular expression (a string), got nothing',
    ]);
  });

  it('reports invalid regular expressions with the engine’s own message', () => {
    expect(
      fileProblems(`allow: ["^netbox-("]
ignore: [{ attribute: Class, match: "[CACS" }]
rules:
  - attribute: Class
    match: "^netbox-(?<x)$"
    groups: [x]
`),
    ).toEqual([
      'ROLE_RULES_FILE: FILE:1:9: Invalid regular expression: /^netbox-(/: Unterminated group',
      'ROLE_RULES_FILE: FILE:2:37: Invalid regular expression: /[CACS/: Unterminated character class',
      'ROLE_RULES_FILE: FILE:5:12: Invalid regular expression: /^netbox-(?<x)$/: Invalid capture group name',
    ]);
  });

  it('reports placeholders beyond the captures, empty groups, min above max, and missing or doubled keys', () => {
    expect(
      fileProblems(`rules:
  - { attribute: Class, match: "^netbox-(.+)$", groups: ["netbox-{1}", "x-{2}"] }
  - { attribute: Class, match: "^netbox-", groups: ["{1}"] }
  - { attribute: priv-lvl, range: { min: 1, max: 14 }, groups: ["level-{1}"] }
  - { attribute: Class, match: ".", groups: [] }
  - { attribute: [], match: ".", groups: [a] }
  - { attribute: priv-lvl, range: { min: 15, max: 1 }, groups: [a] }
  - { attribute: priv-lvl, range: { min: 15 }, groups: [a] }
  - { attribute: Class, match: ".", range: { min: 1, max: 2 }, groups: [a] }
  - { match: "." }
  - { attribute: Class, match: "", groups: [""] }
  - { attribute: priv-lvl, range: { min: 1, max: 2 }, ignoreCase: true, groups: [a] }
`),
    ).toEqual([
      'ROLE_RULES_FILE: FILE:2:72: "x-{2}" uses {2}, but /^netbox-(.+)$/ has only 1 capture group',
      'ROLE_RULES_FILE: FILE:3:53: "{1}" uses {1}, but /^netbox-/ has no capture group',
      'ROLE_RULES_FILE: FILE:4:65: "level-{1}" uses {1}, but a range rule has only {0} (the number)',
      'ROLE_RULES_FILE: FILE:5:45: groups must list at least one group (use ignore to skip values)',
      'ROLE_RULES_FILE: FILE:6:18: attribute must name at least one attribute',
      'ROLE_RULES_FILE: FILE:7:35: range min 15 is greater than max 1',
      'ROLE_RULES_FILE: FILE:8:35: range needs max',
      'ROLE_RULES_FILE: FILE:9:37: rule 8 has both match and range; give one',
      'ROLE_RULES_FILE: FILE:10:5: rule 9 needs an attribute',
      'ROLE_RULES_FILE: FILE:10:5: rule 9 needs groups',
      'ROLE_RULES_FILE: FILE:11:32: match must be a regular expression (a string), got an empty string',
      'ROLE_RULES_FILE: FILE:11:45: groups must be a list of group names, got an empty string',
      'ROLE_RULES_FILE: FILE:12:55: ignoreCase applies to match, not to range',
    ]);
  });

  it('refuses fixed group names the allow-list or deny prefixes would always refuse', () => {
    expect(
      fileProblems(`defaultGroups: [users]
allow: ["^netbox-"]
denyPrefixes: [netbox-admin-, ""]
superuserGroups: [netbox-admin-all]
rules:
  - { attribute: priv-lvl, range: { min: 15, max: 15 }, groups: [netbox-admin-x, netbox-ok, "${'n'.repeat(151)}"] }
`),
    ).toEqual([
      'ROLE_RULES_FILE: FILE:1:17: group "users" is refused: not in the allow-list',
      'ROLE_RULES_FILE: FILE:3:31: denyPrefixes must be a list of group name prefixes, got an empty string',
      'ROLE_RULES_FILE: FILE:4:19: group "netbox-admin-all" is refused: denied prefix netbox-admin-',
      'ROLE_RULES_FILE: FILE:6:66: group "netbox-admin-x" is refused: denied prefix netbox-admin-',
      `ROLE_RULES_FILE: FILE:6:93: group "${'n'.repeat(151)}" is refused: 151 characters, NetBox allows 150`,
    ]);
  });

  it('reports YAML syntax errors, duplicate keys, an empty file, a missing rules list and an empty allow-list', () => {
    expect(fileProblems('rules:\n  - { attribute: Class, match: "a", groups: [a]\n')).toEqual([
      expect.stringMatching(/^ROLE_RULES_FILE: FILE:3:1: Flow map in block collection must be sufficiently indented and end with a }$/),
    ]);
    expect(fileProblems('rules: []\nrules: []\n')).toEqual(['ROLE_RULES_FILE: FILE:2:1: Map keys must be unique']);
    expect(fileProblems('# nothing yet\n')).toEqual(['ROLE_RULES_FILE: FILE:1:1: the file is empty; it needs at least a `rules:` list']);
    expect(fileProblems('defaultGroups: [a]\nallow: []\n')).toEqual([
      'ROLE_RULES_FILE: FILE:1:1: missing `rules:` (an empty list `rules: []` gives every user the default groups only)',
      'ROLE_RULES_FILE: FILE:2:1: allow is an empty list, which would refuse every group; leave it out to allow every name',
    ]);
    expect(fileProblems('- rules\n')).toEqual(['ROLE_RULES_FILE: FILE:1:1: the rules file must be a mapping, got a list']);
  });

  it('reads JSON, attribute numbers, single names for lists, and aliases', () => {
    const json = rulesFile('{"rules": [{"attribute": "Class", "match": "^netbox-(.+)$", "groups": ["netbox-{1}"]}], "defaultGroups": ["netbox-users"]}', 'rules.json');
    expect(mapperFor({ ROLE_RULES_FILE: json }).map(bag([['Class', 'netbox-ops']])).groups).toEqual(['netbox-users', 'netbox-ops']);
    const yaml = rulesFile(`
admins: &admins [netbox-admin, netbox-users]
rules:
  - { attribute: 25, match: "^admin$", groups: *admins }
  - { attribute: "26:9:1", match: "^shell:priv-lvl=15$", groups: netbox-admin }
`);
    // A key the file format does not know stays an error, even when it only holds an anchor.
    expect(problemsOf({ ROLE_RULES_FILE: yaml })).toEqual([`ROLE_RULES_FILE: ${yaml}:2:1: unknown key "admins" in the rules file (known: rules, ignore, allow, denyPrefixes, defaultGroups, superuserGroups, staffGroups, requireRole)`]);
    const anchored = rulesFile(`
rules:
  - { attribute: 25, match: "^admin$", groups: &admins [netbox-admin, netbox-users] }
  - { attribute: "26:9:1", match: "^shell:priv-lvl=15$", groups: netbox-admin }
  - { attribute: Class, match: "^root$", groups: *admins }
`);
    const mapper = mapperFor({ ROLE_RULES_FILE: anchored });
    expect(mapper.map(bag([['25', 'admin']])).groups).toEqual(['netbox-admin', 'netbox-users']);
    expect(mapper.map(bag([['26:9:1', 'shell:priv-lvl=15']])).groups).toEqual(['netbox-admin']);
    expect(mapper.map(bag([['Class', 'root']])).groups).toEqual(['netbox-admin', 'netbox-users']);
  });

  it('reports a file it cannot read', () => {
    expect(problemsOf({ ROLE_RULES_FILE: '/nonexistent/rules.yaml' })).toEqual(['ROLE_RULES_FILE: cannot read /nonexistent/rules.yaml (ENOENT)']);
  });
});

describe('env settings', () => {
  it('defaults to the built-in rules: no defaults, no superuser or staff groups, no REQUIRE_ROLE, tacacs-priv-{n}', () => {
    const { rules, problems } = roleConfig({});
    expect(problems).toEqual([]);
    expect(rules).toMatchObject({ origin: 'built-in rules', defaultGroups: [], superuserGroups: [], staffGroups: [], requireRole: false, ignore: [{ attribute: 'Class' }] });
    expect(mapperFor({}).map(bag([['priv-lvl', '3'], ['Class', 'CACS:1'], ['Class', 'ops']])).groups).toEqual(['ops', 'tacacs-priv-3']);
  });

  it('reads the group lists, the policy and REQUIRE_ROLE', () => {
    const env = {
      DEFAULT_GROUPS: 'netbox-users, netbox-readers',
      SUPERUSER_GROUPS: 'netbox-admin',
      STAFF_GROUPS: 'netbox-admin,netbox-staff',
      GROUP_ALLOW: '^netbox-,^tacacs-priv-1[0-5]$',
      GROUP_DENY_PREFIXES: 'netbox-admin-',
      REQUIRE_ROLE: 'true',
    };
    const mapper = mapperFor(env);
    expect(mapper.map(bag([['Class', 'netbox-admin'], ['Class', 'netbox-admin-x'], ['priv-lvl', '15'], ['priv-lvl', '3']]))).toMatchObject({
      groups: ['netbox-users', 'netbox-readers', 'netbox-admin', 'tacacs-priv-15'],
      superuser: true,
      staff: true,
      denied: false,
    });
    expect(mapper.map(bag([['Class', 'other']]))).toMatchObject({ groups: [], denied: true });
  });

  it('maps ROLE_MAP role names, in any case, from Class and the role attributes, and nothing else', () => {
    const mapper = mapperFor({ ROLE_MAP: 'admin:netbox-admin, ro:netbox-readonly,ro:netbox-users,group=ops:netbox-ops', PRIV_LVL_GROUP_TEMPLATE: 'none' });
    expect(mapper.map(bag([['Class', 'Admin'], ['Class', 'other'], ['Class', 'CACS:admin']])).groups).toEqual(['netbox-admin']);
    expect(mapper.map(bag([['Cisco-AVPair', 'shell:roles="ro ops"'], ['role', 'RO'], ['Class', 'group=ops']])).groups).toEqual(['netbox-readonly', 'netbox-users', 'netbox-ops']);
    expect(mapper.map(bag([['Filter-Id', 'admin'], ['Class', 'admins']])).groups).toEqual([]);
    const explained = mapper.map(bag([['Class', 'ADMIN']])).explanation;
    expect(explained).toEqual(['ROLE_MAP "admin:netbox-admin" (Class|shell:roles|shell:role|role ~ /^admin$/i) matched Class "ADMIN" → netbox-admin']);
    expect(mapperFor({ ROLE_MAP: 'admin:netbox-admin' }).map(bag([['priv-lvl', '15']])).groups).toEqual(['tacacs-priv-15']);
  });

  it('reports malformed env settings', () => {
    expect(
      problemsOf({
        ROLE_MAP: 'admin:netbox-admin,nocolon,:x,y:',
        PRIV_LVL_GROUP_TEMPLATE: 'level',
        REQUIRE_ROLE: 'sometimes',
        GROUP_ALLOW: '^netbox-(',
        GROUP_DENY_PREFIXES: 'netbox-admin',
        SUPERUSER_GROUPS: 'netbox-admin',
      }),
    ).toEqual([
      'REQUIRE_ROLE: must be true or false, got "sometimes"',
      'PRIV_LVL_GROUP_TEMPLATE: must contain {n} (the privilege level) or be "none", got "level"',
      'ROLE_MAP: "nocolon" is not role:group',
      'ROLE_MAP: ":x" is not role:group',
      'ROLE_MAP: "y:" is not role:group',
      'GROUP_ALLOW: Invalid regular expression: /^netbox-(/: Unterminated group',
      'ROLE_MAP: group "netbox-admin" is refused: denied prefix netbox-admin',
      'SUPERUSER_GROUPS: group "netbox-admin" is refused: denied prefix netbox-admin',
    ]);
  });

  it('refuses ROLE_MAP and PRIV_LVL_GROUP_TEMPLATE next to a rules file, and a setting made in both places', () => {
    const path = rulesFile('defaultGroups: [a]\nrequireRole: false\nrules: []\n');
    expect(
      problemsOf({ ROLE_RULES_FILE: path, ROLE_MAP: 'a:b', PRIV_LVL_GROUP_TEMPLATE: 'none', DEFAULT_GROUPS: 'b', REQUIRE_ROLE: 'true', STAFF_GROUPS: 'a' }),
    ).toEqual([
      `ROLE_MAP: cannot be combined with ROLE_RULES_FILE; write it as rules in ${path}`,
      `PRIV_LVL_GROUP_TEMPLATE: cannot be combined with ROLE_RULES_FILE; write it as rules in ${path}`,
      `DEFAULT_GROUPS: is also set in ${path} (defaultGroups); set it in one place`,
      `REQUIRE_ROLE: is also set in ${path} (requireRole); set it in one place`,
    ]);
  });

  it('applies env settings the rules file leaves out, checked against the file’s policy', () => {
    const path = rulesFile('allow: ["^netbox-"]\nrules: [{ attribute: Class, match: ".", groups: ["{0}"] }]\n');
    const mapper = mapperFor({ ROLE_RULES_FILE: path, DEFAULT_GROUPS: 'netbox-users', SUPERUSER_GROUPS: 'netbox-admin', REQUIRE_ROLE: 'true' });
    expect(mapper.map(bag([['Class', 'netbox-admin']]))).toMatchObject({ groups: ['netbox-users', 'netbox-admin'], superuser: true });
    expect(mapper.map(bag([['Class', 'x']]))).toMatchObject({ denied: true });
    expect(problemsOf({ ROLE_RULES_FILE: path, STAFF_GROUPS: 'staff' })).toEqual(['STAFF_GROUPS: group "staff" is refused: not in the allow-list']);
  });

  it('lists the attributes the rules read, with cisco-av-pair when a rule reads a protocol:attribute name', () => {
    expect(roleConfig({}).rules.attributes).toEqual(['class', 'shell:roles', 'shell:role', 'role', 'priv-lvl', 'cisco-av-pair']);
    expect(roleConfig({ ROLE_RULES_FILE: rulesFile('rules: [{ attribute: [Class, memberOf], match: ".", groups: ["{0}"] }]') }).rules.attributes).toEqual(['class', 'memberof']);
  });
});
