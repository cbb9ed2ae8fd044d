import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roles, rulesFile } from './helpers.js';

const FREERADIUS = resolve('examples/roles/freeradius.yaml');

describe('npm run roles -- explain', () => {
  it('explains a JSON bag from standard input under a rules file, and exits 0', async () => {
    const result = await roles(['explain', '--rules', FREERADIUS], {
      stdin: JSON.stringify({ Class: ['netbox-operators', 'netbox-admins'], 'Cisco-AVPair': 'shell:priv-lvl=15' }),
    });
    expect(result).toEqual({
      status: 0,
      stderr: '',
      stdout: [
        `rules:      ROLE_RULES_FILE ${FREERADIUS}`,
        'attributes:',
        '  Class = "netbox-operators"',
        '  Class = "netbox-admins"',
        '  Cisco-AVPair = "shell:priv-lvl=15"',
        '  shell:priv-lvl = "15"',
        'explanation:',
        '  rule 1 (shell:priv-lvl in 15..15) matched "15" → netbox-admin',
        '  rule 2 (Class|shell:roles ~ /^netbox-.+$/) matched Class "netbox-operators" → netbox-operators',
        '  rule 2 (Class|shell:roles ~ /^netbox-.+$/) matched Class "netbox-admins" → no group',
        '  refused group "netbox-admins": denied prefix netbox-admin',
        '  default groups: netbox-users',
        '  superuser: member of netbox-admin',
        'groups:     netbox-users, netbox-admin, netbox-operators',
        'superuser:  yes',
        'staff:      no',
        'denied:     no',
        '',
      ].join('\n'),
    });
  });

  it('reads name=value lines from a file, unpacking them as the gateway does, under the built-in rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roles-cli-'));
    const bag = join(dir, 'tacacs.txt');
    writeFileSync(bag, '# TACACS+ authorization reply\npriv-lvl=15\nshell:roles="netbox-admin netbox-ops"\nrole*dcim-editors\n\n');
    const result = await roles(['explain', bag]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('rules:      built-in rules\n');
    expect(result.stdout).toContain('  shell:roles = "netbox-admin"\n  shell:roles = "netbox-ops"\n');
    expect(result.stdout).toContain('groups:     netbox-admin, netbox-ops, dcim-editors, tacacs-priv-15\n');
  });

  it('takes the rules from the environment and from ./.env like the gateway, the environment winning', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'roles-cli-'));
    writeFileSync(join(cwd, '.env'), 'ROLE_MAP=admin:netbox-admin\nREQUIRE_ROLE=true\nDEFAULT_GROUPS=from-dotenv\n');
    const admitted = await roles(['explain', '-'], { cwd, stdin: 'Class=Admin\n', env: { DEFAULT_GROUPS: 'from-env' } });
    expect(admitted.status).toBe(0);
    expect(admitted.stdout).toContain('rules:      ROLE_MAP\n');
    expect(admitted.stdout).toContain('groups:     from-env, netbox-admin\n');
    const denied = await roles(['explain'], { cwd, stdin: 'Class=nobody\n' });
    expect(denied.status).toBe(1);
    expect(denied.stdout).toContain('  no rule matched; REQUIRE_ROLE denies the login\n');
    expect(denied.stdout).toContain('groups:     (none)\n');
    expect(denied.stdout).toContain('denied:     yes\n');
  });

  it('exits 2 with the problems of a bad rules file, a bad bag, or a bad command line', async () => {
    const bad = rulesFile('rules:\n  - { attribute: Class, match: "(", groups: [x] }\n');
    const config = await roles(['explain', '--rules', bad], { stdin: '{}' });
    expect(config).toEqual({
      status: 2,
      stdout: '',
      stderr: `roles explain: invalid configuration:\n  ROLE_RULES_FILE: ${bad}:2:32: Invalid regular expression: /(/: Unterminated group\n`,
    });
    const conflict = await roles(['explain', '--rules', FREERADIUS], { stdin: '{}', env: { ROLE_MAP: 'a:b' } });
    expect(conflict.status).toBe(2);
    expect(conflict.stderr).toContain(`ROLE_MAP: cannot be combined with ROLE_RULES_FILE`);
    const input = await roles(['explain'], { stdin: 'Class=a\nnot a pair\n' });
    expect(input).toEqual({ status: 2, stdout: '', stderr: 'roles explain: line 2: expected name=value, got "not a pair"\n' });
    const json = await roles(['explain'], { stdin: '{"Class": [true]}' });
    expect(json.stderr).toBe('roles explain: attribute "Class": values must be strings or numbers, got true\n');
    const missing = await roles(['explain', '/nonexistent/bag.json']);
    expect(missing).toMatchObject({ status: 2, stderr: 'roles explain: cannot read /nonexistent/bag.json (ENOENT)\n' });
    const usage = await roles(['explian']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^unknown command "explian"\n\nusage: npm run roles -- explain \[--rules FILE\] \[BAG_FILE\|-\]\n/);
    const help = await roles(['--help']);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: /);
  });
});
