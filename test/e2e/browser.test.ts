import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcctFlag } from '../../src/aaa/tacacs/codec.js';
import { launchChromium } from '../support/browser.js';
import { startFreeRadius, type RunningFreeRadius } from '../support/freeradius.js';
import { startStack, STACK_TACACS_USERS, STACK_USERS, type Stack, type StackOptions } from '../support/stack.js';

const SECRET = 'e2e-freeradius-secret';
const SCREENSHOTS = '.tmp/screenshots';

let browser: Browser;
let freeradius: RunningFreeRadius;

// One Chromium and one FreeRADIUS for the whole file; each describe brings its own gateway stack.
beforeAll(async () => {
  freeradius = await startFreeRadius({
    secret: SECRET,
    requireMessageAuthenticator: true,
    users: {
      'ada.lovelace': {
        password: 'Analytical-Engine-1843',
        attributes: [
          ['Class', 'netbox-admin'],
          ['Class', 'ops'],
          ['Cisco-AVPair', 'shell:roles="dcim-editors ipam-editors"'],
          ['Cisco-AVPair', 'shell:priv-lvl=15'],
        ],
      },
      'grace.hopper': {
        password: 'Compiler-A0-1952',
        attributes: [
          ['Class', 'netbox-operators'],
          ['Cisco-AVPair', 'shell:priv-lvl=15'],
        ],
      },
    },
  });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await freeradius?.stop();
});

/** Starts a gateway stack for the enclosing describe (options read once FreeRADIUS runs) and closes it after. */
function gatewayStack(options: () => StackOptions): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack(options());
  });
  afterAll(async () => {
    await stack?.close();
  });
  return () => {
    if (!stack) throw new Error('the gateway stack did not start');
    return stack;
  };
}

const throughFreeRadius = (env: Record<string, string>): StackOptions => ({
  radius: { servers: [`127.0.0.1:${freeradius.port}`], secret: SECRET },
  env: { RADIUS_TIMEOUT: '2', AAA_LOGIN_TIMEOUT: '5', ...env },
});

/** Headless Chromium through the gateway, signing in against a real FreeRADIUS, landing in the NetBox double. */
describe('browser end to end: Chromium → gateway → FreeRADIUS → NetBox', () => {
  const stack = gatewayStack(() => throughFreeRadius({ DEFAULT_GROUPS: 'netbox-users' }));

  it('signs in from a deep link, lands there with the mapped groups, and signs out of NetBox too', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack().gateway.url}/dcim/devices/?site=lab-1`);
    expect(new URL(page.url()).pathname).toBe('/-/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/dcim/devices/?site=lab-1');

    // A wrong password first: the message shows, the name stays, the password field is empty.
    await page.getByLabel('User name').fill('ada.lovelace');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#error').textContent()).toBe('Sign-in failed: wrong user name or password.');
    expect(await page.getByLabel('User name').inputValue()).toBe('ada.lovelace');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await page.screenshot({ path: `${SCREENSHOTS}/login-error.png` });

    // Keyboard only: the password field has focus after a failed attempt; Enter submits.
    await page.keyboard.type('Analytical-Engine-1843');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack().gateway.url}/dcim/devices/?site=lab-1`);
    expect(await page.locator('#netbox-user').textContent()).toBe('ada.lovelace');
    const groups = (await page.locator('#netbox-groups li').allTextContents()).sort();
    expect(groups).toEqual(['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-users', 'ops']);
    await page.screenshot({ path: `${SCREENSHOTS}/netbox-page.png` });

    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(['nbgw_session']);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

    const user = stack().netbox.state.findUser('ada.lovelace')!;
    expect(stack().netbox.state.sessionsOf(user.id)).toHaveLength(1);

    // Typed into the address bar (or linked from another site), sign-out asks first: nothing is ended yet.
    await page.goto(`${stack().gateway.url}/-/logout`);
    expect(await page.locator('#sign-out').textContent()).toBe('Sign out');
    expect(stack().netbox.state.sessionsOf(user.id)).toHaveLength(1);
    await page.click('#back');
    expect(await page.locator('#netbox-user').textContent()).toBe('ada.lovelace');

    // NetBox's own "Log out" link, clicked on a NetBox page: same-origin, so it signs out at once.
    await page.click('#logout');
    await page.waitForURL(/\/-\/login/);
    expect(new URL(page.url()).pathname).toBe('/-/login');
    expect(await page.locator('#notice').textContent()).toBe('You have been signed out.');
    await page.screenshot({ path: `${SCREENSHOTS}/signed-out.png` });
    expect(stack().netbox.state.sessionsOf(user.id)).toHaveLength(0);

    await page.goto(`${stack().gateway.url}/dcim/devices/`);
    expect(new URL(page.url()).pathname).toBe('/-/login');
    await context.close();
  });
});

describe('browser end to end: FreeRADIUS priv-lvl 15 through the shipped FreeRADIUS rules', () => {
  const stack = gatewayStack(() => throughFreeRadius({ ROLE_RULES_FILE: 'examples/roles/freeradius.yaml' }));

  it('lands a Cisco-AVPair shell:priv-lvl=15 user in the admin group, with the superuser permission on it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack().gateway.url}/dcim/racks/`);
    await page.getByLabel('User name').fill('grace.hopper');
    await page.getByLabel('Password').fill('Compiler-A0-1952');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack().gateway.url}/dcim/racks/`);
    expect((await page.locator('#netbox-groups li').allTextContents()).sort()).toEqual(['netbox-admin', 'netbox-operators', 'netbox-users']);
    // Password mode: the superuser group carries the gateway-managed all-objects permission.
    const permission = [...stack().netbox.state.permissions.values()].find((p) => p.name.startsWith('netbox-aaa-gateway: superuser'));
    expect(permission).toBeDefined();
    expect([...permission!.groupIds].map((id) => stack().netbox.state.groups.get(id)?.name)).toEqual(['netbox-admin']);
    await context.close();
  });
});

/** The same flow with AAA_METHOD=tacacs: the groups come from the TACACS+ authorization reply. */
describe('browser end to end: Chromium → gateway → TACACS+ → NetBox', () => {
  const stack = gatewayStack(() => ({ method: 'tacacs', env: { DEFAULT_GROUPS: 'netbox-users' } }));

  it('signs in, lands in the authorized groups, signs out, and the accounting STOP arrives', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack().gateway.url}/ipam/prefixes/`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(STACK_TACACS_USERS.alice!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack().gateway.url}/ipam/prefixes/`);
    expect(await page.locator('#netbox-user').textContent()).toBe('alice');
    expect((await page.locator('#netbox-groups li').allTextContents()).sort()).toEqual([
      'dcim-editors',
      'netbox-admin',
      'netbox-ops',
      'netbox-users',
      'tacacs-priv-15',
    ]);

    await page.click('#logout');
    await page.waitForURL(/\/-\/login/);
    expect(await page.locator('#notice').textContent()).toBe('You have been signed out.');
    const records = () => stack().tacacs.accounting.filter((r) => r.body.user === 'alice');
    await expect.poll(() => records().length).toBe(2);
    const [start, stop] = records();
    expect(start!.body.flags & AcctFlag.Start).toBe(AcctFlag.Start);
    expect(stop!.body.flags & AcctFlag.Stop).toBe(AcctFlag.Stop);
    expect(stop!.args.task_id).toBe(start!.args.task_id);
    const user = stack().netbox.state.findUser('alice')!;
    expect(stack().netbox.state.sessionsOf(user.id)).toHaveLength(0);
    await context.close();
  });
});

/** A second factor behind RADIUS (Access-Challenge), answered in the browser like a user would. */
describe('browser end to end: RADIUS challenge', () => {
  const stack = gatewayStack(() => ({}));

  it('shows the server prompt, takes the one-time code and the confirmation, and lands signed in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack().gateway.url}/dcim/sites/`);
    await page.getByLabel('User name').fill('otto');
    await page.getByLabel('Password').fill(STACK_USERS.otto!.password);
    await page.keyboard.press('Enter');
    const code = page.getByLabel('Enter the 6-digit code from your token <b>now</b>');
    await code.waitFor();
    expect(await page.locator('#challenge-user').textContent()).toBe('otto');
    await page.screenshot({ path: `${SCREENSHOTS}/challenge.png` });
    await code.fill('123456');
    await page.keyboard.press('Enter');
    await page.getByLabel('Type "yes" to confirm').fill('yes');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${stack().gateway.url}/dcim/sites/`);
    expect(await page.locator('#netbox-user').textContent()).toBe('otto');
    await context.close();
  });
});
