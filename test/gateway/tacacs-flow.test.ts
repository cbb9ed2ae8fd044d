import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcctFlag, HeaderFlag } from '../../src/aaa/tacacs/codec.js';
import { until } from '../support/until.js';
import { CookieBrowser } from '../netbox-double/browser.js';
import { pageGroups, signIn } from '../support/gateway-form.js';
import { makeTestCertificates } from '../support/certs.js';
import { TacacsTestServer, type ReceivedAccounting } from '../support/tacacs-server.js';
import { startStack, STACK_TACACS_USERS, type Stack } from '../support/stack.js';

function recordOf(stack: Stack, user: string, flag: number): ReceivedAccounting | undefined {
  return stack.tacacs.accounting.find((r) => r.body.user === user && (r.body.flags & flag) !== 0);
}

describe('sign-in through TACACS+', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ method: 'tacacs', env: { DEFAULT_GROUPS: 'netbox-users' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('lands in the groups the authorization reply named, with accounting START and STOP under one task_id', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const response = await signIn(browser, 'alice', STACK_TACACS_USERS.alice!.password, '/dcim/');
    expect(response.status).toBe(303);
    const page = await browser.get('/dcim/');
    expect(pageGroups(page.body)).toEqual(['dcim-editors', 'netbox-admin', 'netbox-ops', 'netbox-users', 'tacacs-priv-15']);

    const authorization = stack.tacacs.authorizations.at(-1)!;
    expect(authorization.body).toMatchObject({ user: 'alice', port: 'netbox-aaa-gateway', remAddr: '127.0.0.1' });
    expect(authorization.body.args).toEqual(expect.arrayContaining(['service=shell', 'cmd=']));

    const start = await until(() => recordOf(stack, 'alice', AcctFlag.Start), 'accounting START');
    expect(start.args).toMatchObject({ service: 'shell', task_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(start.body.remAddr).toBe('127.0.0.1');

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await browser.get('/-/logout', { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(303);
    const stop = await until(() => recordOf(stack, 'alice', AcctFlag.Stop), 'accounting STOP');
    expect(stop.args.task_id).toBe(start.args.task_id);
    expect(stop.args.start_time).toBe(start.args.start_time);
    expect(Number(stop.args.elapsed_time)).toBeGreaterThanOrEqual(1);
    expect(Number(stop.args.stop_time) - Number(stop.args.start_time)).toBe(Number(stop.args.elapsed_time));
  });

  it('maps a low priv-lvl through the template', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_TACACS_USERS.bob!.password);
    expect(pageGroups((await browser.get('/')).body)).toEqual(['netbox-users', 'tacacs-priv-1']);
  });

  it('fails the login with a clear message when authorization is refused, creating nothing', async () => {
    const response = await signIn(new CookieBrowser(stack.gateway.url), 'carol', STACK_TACACS_USERS.carol!.password);
    expect(response.status).toBe(403);
    expect(response.body).toContain('does not authorize you for NetBox');
    expect(response.body).toContain('Not in the NetBox group');
    expect(stack.netbox.state.findUser('carol')).toBeUndefined();
    expect(recordOf(stack, 'carol', AcctFlag.Start)).toBeUndefined();
  });

  it('gives a wrong password the usual answer', async () => {
    const response = await signIn(new CookieBrowser(stack.gateway.url), 'alice', 'wrong-password');
    expect(response.status).toBe(401);
    expect(response.body).toContain('wrong user name or password');
  });

  it('shows what the server says as text, never as markup', async () => {
    const evil = await startStack({
      method: 'tacacs',
      tacacsUsers: { mallory: { password: 'mallory-Passw0rd', authorization: { status: 'fail', args: [], serverMsg: '<script>alert(1)</script>' } } },
    });
    try {
      const response = await signIn(new CookieBrowser(evil.gateway.url), 'mallory', 'mallory-Passw0rd');
      expect(response.status).toBe(403);
      expect(response.body).not.toContain('<script>alert(1)</script>');
      expect(response.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    } finally {
      await evil.close();
    }
  });
});

describe('TACACS+ session ends nobody sees', () => {
  it('sends the accounting STOP and ends the NetBox session when a session times out while nobody is looking', async () => {
    const stack = await startStack({
      method: 'tacacs',
      env: { TACACS_AUTH_TYPE: 'ascii' },
      adjust: (config) => ({ ...config, session: { ...config.session, idleTimeoutMs: 300, purgeIntervalMs: 100 } }),
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'bob', STACK_TACACS_USERS.bob!.password)).status).toBe(303);
      // ASCII login: the server's GETPASS prompt was answered with a CONTINUE.
      expect(stack.tacacs.authentications.some((a) => 'userMsg' in a.body)).toBe(true);
      const start = await until(() => recordOf(stack, 'bob', AcctFlag.Start), 'accounting START');
      const bob = stack.netbox.state.findUser('bob')!;
      expect(stack.netbox.state.sessionsOf(bob.id)).toHaveLength(1);
      const stop = await until(() => recordOf(stack, 'bob', AcctFlag.Stop), 'accounting STOP after the idle timeout');
      expect(stop.args.task_id).toBe(start.args.task_id);
      await until(() => (stack.netbox.state.sessionsOf(bob.id).length === 0 ? true : undefined), 'the NetBox session to end');
    } finally {
      await stack.close();
    }
  });
});

describe('TACACS+ over TLS, configured from the environment', () => {
  it('signs in through a TLS 1.3 server whose certificate the configured CA signed, and refuses a rogue one', async () => {
    const certs = makeTestCertificates();
    const good = new TacacsTestServer({ key: 'unused-over-tls', users: STACK_TACACS_USERS });
    const rogue = new TacacsTestServer({ key: 'unused-over-tls', users: STACK_TACACS_USERS });
    const goodRunning = await good.start({ host: '127.0.0.1', port: 0, tls: { key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert, requestCert: true } });
    const rogueRunning = await rogue.start({ host: '127.0.0.1', port: 0, tls: { key: certs.rogueServer.key, cert: certs.rogueServer.cert } });
    const stack = await startStack({
      method: 'tacacs',
      env: {
        // The rogue server comes first: its certificate must make the gateway move on, never sign anyone in.
        TACACS_SERVERS: `tls://127.0.0.1:${rogueRunning.port},tls://127.0.0.1:${goodRunning.port}`,
        TACACS_SECRET: '',
        TACACS_TLS_CA_FILE: certs.ca.certFile,
        TACACS_TLS_CERT_FILE: certs.client.certFile,
        TACACS_TLS_KEY_FILE: certs.client.keyFile,
      },
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_TACACS_USERS.alice!.password)).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toContain('tacacs-priv-15');
      expect(rogue.authentications).toHaveLength(0);
      expect(good.authentications.at(-1)!.peer.certificate).toBe('netbox-gateway');
      expect(good.authentications.at(-1)!.header.flags & HeaderFlag.Unencrypted).toBe(HeaderFlag.Unencrypted);
    } finally {
      await stack.close();
      await goodRunning.close();
      await rogueRunning.close();
      certs.remove();
    }
  });
});

describe('TACACS+ with a rules file', () => {
  const dave = { password: 'dave-Passw0rd', authorization: { status: 'pass-add' as const, args: ['memberof=CN=netbox-ops,OU=Groups,DC=example,DC=net'] } };

  it('accepts a mandatory argument the rules read, and maps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbgw-rules-'));
    const rules = join(dir, 'roles.yaml');
    writeFileSync(rules, 'rules:\n  - { attribute: memberof, match: "^CN=(netbox-[^,]+),", groups: ["{1}"] }\n');
    const stack = await startStack({ method: 'tacacs', tacacsUsers: { dave }, env: { ROLE_RULES_FILE: rules } });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'dave', dave.password)).status).toBe(303);
      expect(pageGroups((await browser.get('/')).body)).toEqual(['netbox-ops']);
    } finally {
      await stack.close();
    }
  });

  it('fails the authorization on a mandatory argument nothing reads (RFC 8907 §6.1)', async () => {
    const stack = await startStack({ method: 'tacacs', tacacsUsers: { dave } });
    try {
      const response = await signIn(new CookieBrowser(stack.gateway.url), 'dave', dave.password);
      expect(response.status).toBe(403);
      expect(response.body).toContain('memberof');
    } finally {
      await stack.close();
    }
  });
});
