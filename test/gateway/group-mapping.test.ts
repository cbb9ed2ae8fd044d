import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import type { NetboxVersion } from '../netbox-double/index.js';
import { pageGroups, pageUser, signIn } from '../support/gateway-form.js';
import { startStack, STACK_TACACS_USERS, STACK_USERS } from '../support/stack.js';

function rulesFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nbgw-rules-')), 'roles.yaml');
  writeFileSync(path, yaml);
  return path;
}

describe.each<NetboxVersion>(['4.4', '4.6.0', '4.6.8'])('sign-in against NetBox %s', (version) => {
  it('provisions the mapped groups, and staff only where NetBox still has it', async () => {
    const stack = await startStack({ netbox: { version }, env: { STAFF_GROUPS: 'netbox-admin', DEFAULT_GROUPS: 'netbox-users' } });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual(['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-users']);
      const alice = stack.netbox.state.findUser('alice')!;
      expect(alice.isStaff).toBe(version === '4.4');
    } finally {
      await stack.close();
    }
  });
});

describe('group sync modes through a login', () => {
  it('managed: keeps a group an admin assigned by hand and drops a role the AAA server no longer sends', async () => {
    const users = {
      erin: { password: 'erin-Passw0rd', authorization: { status: 'pass-add' as const, args: ['shell:roles="netbox-ops netbox-dcim"'] } },
    };
    const stack = await startStack({ method: 'tacacs', tacacsUsers: users, env: { GROUP_SYNC_MODE: 'managed', GROUP_ALLOW: '^netbox-' } });
    try {
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'erin', 'erin-Passw0rd')).status).toBe(303);
      const erin = stack.netbox.state.findUser('erin')!;
      // An admin adds a group by hand in NetBox: not one the rules could produce.
      const handMade = stack.netbox.state.addGroup('change-board');
      erin.groupIds.add(handMade.id);
      // The AAA side drops netbox-dcim.
      users.erin.authorization.args.splice(0, 1, 'shell:roles=netbox-ops');
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'erin', 'erin-Passw0rd')).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual(['change-board', 'netbox-ops']);
    } finally {
      await stack.close();
    }
  });

  it('managed with every default (built-in rules): a group an admin gave by hand stays at her next sign-in', async () => {
    const users = {
      erin: { password: 'erin-Passw0rd', authorization: { status: 'pass-add' as const, args: ['shell:roles="netbox-ops netbox-dcim"'] } },
    };
    const stack = await startStack({ method: 'tacacs', tacacsUsers: users });
    try {
      expect(stack.config.provisioning.syncMode).toBe('managed');
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'erin', 'erin-Passw0rd')).status).toBe(303);
      const erin = stack.netbox.state.findUser('erin')!;
      const granted = stack.netbox.state.groupNamesOf(erin).sort();
      expect(granted).toEqual(expect.arrayContaining(['netbox-dcim', 'netbox-ops']));
      erin.groupIds.add(stack.netbox.state.addGroup('hand-picked').id);
      users.erin.authorization.args.splice(0, 1, 'shell:roles=netbox-ops');
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'erin', 'erin-Passw0rd')).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual([...granted.filter((group) => group !== 'netbox-dcim'), 'hand-picked'].sort());
    } finally {
      await stack.close();
    }
  });

  it('replace: the groups become exactly the mapped ones', async () => {
    const stack = await startStack({ env: { GROUP_SYNC: 'true' } });
    try {
      stack.netbox.state.addUser({ username: 'bob', groups: ['change-board'] });
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'bob', STACK_USERS.bob!.password)).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual(['netbox-readonly']);
    } finally {
      await stack.close();
    }
  });
});

describe('rules that refuse', () => {
  it('REQUIRE_ROLE refuses a user no rule matched, with a clear message, and creates nothing', async () => {
    const stack = await startStack({ env: { ROLE_RULES_FILE: rulesFile('requireRole: true\nrules:\n  - { attribute: Class, match: "^netbox-admin$", groups: [netbox-admin] }\n') } });
    try {
      const refused = await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('has no role that gives access to NetBox');
      expect(stack.netbox.state.findUser('bob')).toBeUndefined();
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual(['netbox-admin']);
    } finally {
      await stack.close();
    }
  });
});

describe('superuser in remote-user mode', () => {
  it("makes a member of the superuser group a NetBox superuser through NetBox's own group header", async () => {
    const stack = await startStack({
      method: 'tacacs',
      env: { NETBOX_SESSION_MODE: 'remote-user', SUPERUSER_GROUPS: 'netbox-admin' },
      netbox: { remoteAuth: { enabled: true, groupSyncEnabled: true, superuserGroups: ['netbox-admin'] } },
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_TACACS_USERS.alice!.password)).status).toBe(303);
      expect(pageUser((await browser.get('/')).body)).toBe('alice');
      expect(stack.netbox.state.findUser('alice')!.isSuperuser).toBe(true);
      // Password mode's permission is not used here: NetBox itself made the superuser.
      expect([...stack.netbox.state.permissions.values()]).toEqual([]);

      const bobBrowser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(bobBrowser, 'bob', STACK_TACACS_USERS.bob!.password)).status).toBe(303);
      expect(stack.netbox.state.findUser('bob')!.isSuperuser).toBe(false);
    } finally {
      await stack.close();
    }
  });
});

describe('user names', () => {
  it('signs DOMAIN\\user in as the NetBox user, while the AAA server gets what was typed', async () => {
    const users = { 'EXAMPLE\\Carl': { password: 'carl-Passw0rd', authorization: { status: 'pass-add' as const, args: ['role=netbox-ops'] } } };
    const stack = await startStack({ method: 'tacacs', tacacsUsers: users, env: { USERNAME_STRIP_DOMAIN: 'true', USERNAME_CASE: 'lower' } });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'EXAMPLE\\Carl', 'carl-Passw0rd')).status).toBe(303);
      expect(pageUser((await browser.get('/')).body)).toBe('carl');
      expect(stack.tacacs.authentications.at(-1)!.body).toMatchObject({ user: 'EXAMPLE\\Carl' });

      const refused = await signIn(new CookieBrowser(stack.gateway.url), 'carl smith', 'x');
      expect(refused.status).toBe(400);
      expect(refused.body).toContain('NetBox user names may contain letters, digits');
    } finally {
      await stack.close();
    }
  });
});
