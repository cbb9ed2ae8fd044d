import { connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { formToken, pageGroups, pageUser, signIn } from '../support/gateway-form.js';
import { startStack, STACK_USERS, type Stack } from '../support/stack.js';

const COOKIE = 'nbgw_session';

describe('sign-in flow through the gateway (password mode)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { DEFAULT_GROUPS: 'netbox-users' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('redirects a deep NetBox URL to the login page, keeping the URL', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const response = await browser.get('/dcim/devices/?site=x&status=active');
    expect(response.status).toBe(302);
    expect(response.location).toBe(`/-/login?next=${encodeURIComponent('/dcim/devices/?site=x&status=active')}`);
    expect(stack.netbox.state.requestsTo('/dcim/')).toHaveLength(0);
  });

  it('answers API calls without a session with 401 JSON, not a redirect', async () => {
    const response = await fetch(`${stack.gateway.url}/api/dcim/devices/`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ detail: expect.stringContaining('Authentication required') });
    expect((await fetch(`${stack.gateway.url}/graphql/`, { method: 'POST' })).status).toBe(401);
  });

  it('passes API calls carrying their own NetBox token straight through', async () => {
    const { authorization } = stack.netbox.state.addToken({ userId: stack.netbox.state.addUser({ username: 'script', permissions: ['users.view_user'] }).id, version: 1 });
    const response = await fetch(`${stack.gateway.url}/api/users/users/?username=script`, { headers: { Authorization: authorization } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { count: number }).count).toBe(1);
  });

  it('serves a login page with labelled fields, a CSRF token and no third-party resources', async () => {
    const response = await new CookieBrowser(stack.gateway.url).get('/-/login?next=%2Fdcim%2F');
    expect(response.status).toBe(200);
    expect(response.body).toContain('<label for="username">');
    expect(response.body).toContain('<label for="password">');
    expect(formToken(response.body).length).toBeGreaterThan(30);
    expect(response.body).toContain('name="next" value="/dcim/"');
    expect(response.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('refuses a login post without the form token', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await browser.get('/-/login');
    const response = await browser.postForm('/-/login', { username: 'alice', password: STACK_USERS.alice!.password });
    expect(response.status).toBe(403);
    expect(response.body).toContain('form had expired');
    // A real token, but another session's: what a cross-site attacker could obtain for themselves.
    const attackerToken = formToken((await new CookieBrowser(stack.gateway.url).get('/-/login')).body);
    const forged = await browser.postForm('/-/login', { csrf_token: attackerToken, username: 'alice', password: STACK_USERS.alice!.password });
    expect(forged.status).toBe(403);
    expect(stack.radius.requests.filter((r) => r.attributes.some(([n, v]) => n === 'User-Name' && v === 'alice'))).toHaveLength(0);
  });

  it('refuses a cross-site login post even with a valid token', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const page = await browser.get('/-/login');
    const response = await browser.postForm(
      '/-/login',
      { csrf_token: formToken(page.body), username: 'alice', password: STACK_USERS.alice!.password, next: '/' },
      { Origin: 'https://evil.example' },
    );
    expect(response.status).toBe(403);
  });

  it('gives a wrong password and an unknown user the same answer, keeps the name and never the password', async () => {
    const wrong = await signIn(new CookieBrowser(stack.gateway.url), 'alice', 'not-her-password');
    const unknown = await signIn(new CookieBrowser(stack.gateway.url), 'mallory', 'whatever-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (html: string) => /<p class="error"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
    expect(message(wrong.body)).toBe('Sign-in failed: wrong user name or password.');
    expect(message(unknown.body)).toBe(message(wrong.body));
    expect(wrong.body).toContain('value="alice"');
    expect(wrong.body).not.toContain('not-her-password');
    expect(stack.netbox.state.findUser('mallory')).toBeUndefined();
  });

  it('signs in, rotates the session ID, and lands on the kept URL as that user with the mapped groups', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const page = await browser.get('/-/login?next=%2Fdcim%2Fdevices%2F%3Fsite%3Dx');
    const before = browser.cookies.get(COOKIE);
    expect(before).toBeDefined();
    const response = await browser.postForm('/-/login', {
      csrf_token: formToken(page.body),
      next: '/dcim/devices/?site=x',
      username: 'alice',
      password: STACK_USERS.alice!.password,
    });
    expect(response.status).toBe(303);
    expect(response.location).toBe('/dcim/devices/?site=x');
    const setCookie = response.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(new RegExp(`${COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Lax`));
    expect(setCookie).not.toMatch(/Secure/);
    expect(setCookie).not.toMatch(/sessionid|csrftoken/);
    expect(browser.cookies.get(COOKIE)).not.toBe(before);

    const landed = await browser.get('/dcim/devices/?site=x');
    expect(landed.status).toBe(200);
    expect(pageUser(landed.body)).toBe('alice');
    expect(pageGroups(landed.body)).toEqual(['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-users']);
    expect(landed.headers.getSetCookie()).toEqual([]);

    const user = stack.netbox.state.findUser('alice');
    expect(user?.isActive).toBe(true);
    expect(stack.netbox.state.groupNamesOf(user!).sort()).toEqual(['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-users']);
    expect(stack.netbox.state.sessionsOf(user!.id)).toHaveLength(1);

    const radiusRequest = stack.radius.requests.at(-1)!;
    expect(radiusRequest.messageAuthenticator).toBe('valid');
    expect(radiusRequest.attributes).toEqual(expect.arrayContaining([['Calling-Station-Id', '127.0.0.1'], ['NAS-Identifier', 'netbox-aaa-gateway']]));
  });

  it('gives a user with no roles the default groups only', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    expect((await signIn(browser, 'nobody', STACK_USERS.nobody!.password)).status).toBe(303);
    expect(pageGroups((await browser.get('/')).body)).toEqual(['netbox-users']);
  });

  it('sends the signed-in user to the kept URL when the login page is opened again', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const again = await browser.get('/-/login?next=%2Fipam%2F');
    expect(again.status).toBe(303);
    expect(again.location).toBe('/ipam/');
  });

  it.each(['https://evil.example/', '//evil.example/', '/\\evil.example', '/%2F%2Fevil.example'])('never redirects off-site after login (next=%s)', async (next) => {
    const response = await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password, next);
    expect(response.status).toBe(303);
    expect(response.location).toBe('/');
  });

  it('lets nothing a client claims about identity reach NetBox', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    stack.netbox.state.clearRequests();
    const spoofed = {
      'Remote-User': 'admin',
      Remote_User: 'admin',
      'REMOTE-USER-GROUP': 'superusers',
      'X-Forwarded-For': '203.0.113.9',
      'X-Real-IP': '203.0.113.9',
      'X-Forwarded-Host': 'evil.example',
      'X-Forwarded-Proto': 'https',
      Forwarded: 'for=203.0.113.9',
      Cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}; sessionid=stolen; csrftoken=planted; theme=dark`,
    };
    const response = await fetch(`${stack.gateway.url}/__double__/headers`, { headers: spoofed });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { headers: Record<string, string> };
    const names = Object.keys(seen.headers).map((n) => n.toLowerCase().replaceAll('_', '-'));
    expect(names.filter((n) => n.startsWith('remote-user'))).toEqual([]);
    expect(seen.headers.forwarded).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(stack.gateway.url).host);
    expect(seen.headers.cookie).not.toContain('stolen');
    expect(seen.headers.cookie).not.toContain('planted');
    expect(seen.headers.cookie).not.toContain(COOKIE);
    expect(seen.headers.cookie).toContain('theme=dark');
    expect(seen.headers.cookie).toMatch(/sessionid=\w+/);
  });

  it('lets a made-up token reach nothing, and asks NetBox about a real one once a minute at most', async () => {
    stack.netbox.state.clearRequests();
    for (const authorization of ['Token 0123456789abcdef0123456789abcdef01234567', 'Bearer nbt_abcdefghijkl.nope']) {
      const response = await fetch(`${stack.gateway.url}/api/dcim/devices/`, { headers: { Authorization: authorization } });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: 'Invalid token.' });
    }
    const media = await fetch(`${stack.gateway.url}/media/devicetype-images/x.png`, { headers: { Authorization: 'Token junk' } });
    expect(media.status).toBe(403);
    expect(stack.netbox.state.requests.map((r) => r.path).filter((path) => path !== '/api/users/config/')).toEqual([]);

    const { authorization } = stack.netbox.state.addToken({ userId: stack.netbox.state.addUser({ username: 'script3', permissions: ['users.view_user'] }).id, version: 2 });
    stack.netbox.state.clearRequests();
    for (let i = 0; i < 3; i += 1) {
      expect((await fetch(`${stack.gateway.url}/api/users/users/`, { headers: { Authorization: authorization } })).status).toBe(200);
    }
    expect(stack.netbox.state.requestsTo('/api/users/config/')).toHaveLength(1);
    expect(stack.netbox.state.requestsTo('/api/users/users/')).toHaveLength(3);
  });

  it("strips a client's identity headers from token pass-through requests too", async () => {
    const { authorization } = stack.netbox.state.addToken({ userId: stack.netbox.state.addUser({ username: 'script2' }).id, version: 1 });
    stack.netbox.state.clearRequests();
    await fetch(`${stack.gateway.url}/api/status/`, { headers: { Authorization: authorization, 'Remote-User': 'admin', Cookie: 'sessionid=stolen; \x85sessionid=stolen2' } });
    // The client's request, not the gateway's own /api/status/ poll (which may come first and carries nothing of it).
    const seen = stack.netbox.state.requestsTo('/api/status/').find((request) => request.headers.authorization === authorization)!;
    expect(seen.headers['remote-user']).toBeUndefined();
    expect(seen.headers.cookie ?? '').not.toContain('stolen');
  });

  it("points NetBox's own login and logout links at the gateway", async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    expect((await browser.get('/login/?next=/ipam/')).location).toBe('/-/login?next=%2Fipam%2F');
    expect((await browser.get('/logout/')).location).toBe('/-/logout');
  });

  it('signs out of the gateway and of NetBox, and shows the login page with a notice', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const bob = stack.netbox.state.findUser('bob')!;
    const sessionsBefore = stack.netbox.state.sessionsOf(bob.id).length;
    const cookieBefore = browser.cookies.get(COOKIE);
    const out = await browser.get('/-/logout', { 'Sec-Fetch-Site': 'same-origin' });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/-/login?notice=signed-out');
    expect(stack.netbox.state.sessionsOf(bob.id)).toHaveLength(sessionsBefore - 1);
    const page = await browser.get(out.location!);
    expect(page.body).toContain('You have been signed out.');
    // The old cookie is worthless now, even replayed.
    const replay = await fetch(`${stack.gateway.url}/`, { headers: { Cookie: `${COOKIE}=${cookieBefore}` }, redirect: 'manual' });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toMatch(/^\/-\/login/);
  });

  it('keeps two browsers of the same user signed in', async () => {
    const first = new CookieBrowser(stack.gateway.url);
    const second = new CookieBrowser(stack.gateway.url);
    await signIn(first, 'alice', STACK_USERS.alice!.password);
    await signIn(second, 'alice', STACK_USERS.alice!.password);
    expect(pageUser((await first.get('/')).body)).toBe('alice');
    expect(pageUser((await second.get('/')).body)).toBe('alice');
  });

  it('logs into NetBox again, transparently, when NetBox ends the session by itself', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const bob = stack.netbox.state.findUser('bob')!;
    for (const session of stack.netbox.state.sessionsOf(bob.id)) stack.netbox.state.sessions.delete(session.key);
    const redirected = await browser.get('/ipam/prefixes/?q=10');
    expect(redirected.status).toBe(302);
    expect(redirected.location).toBe(`/-/reauth?next=${encodeURIComponent('/ipam/prefixes/?q=10')}`);
    const renewed = await browser.get(redirected.location!);
    expect(renewed.status).toBe(303);
    expect(renewed.location).toBe('/ipam/prefixes/?q=10');
    expect(pageUser((await browser.get('/ipam/prefixes/?q=10')).body)).toBe('bob');
  });

  it('proxies a NetBox form post with NetBox CSRF intact, and streams bodies both ways', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const page = await browser.get('/dcim/sites/add/');
    const csrf = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf).toBeDefined();
    const posted = await browser.postForm('/dcim/sites/add/', { csrfmiddlewaretoken: csrf!, name: 'site-1' });
    expect(posted.status).toBe(200);
    expect(posted.body).toContain('id="post-result"');

    const body = Buffer.alloc(5 * 1024 * 1024, 7);
    const upload = await fetch(`${stack.gateway.url}/__double__/body`, { method: 'POST', body, headers: { Cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` } });
    expect(((await upload.json()) as { bytes: number }).bytes).toBe(body.length);
  });

  it('refuses bodies over 25 MB before they reach NetBox', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    stack.netbox.state.clearRequests();
    const response = await fetch(`${stack.gateway.url}/__double__/body`, {
      method: 'POST',
      body: Buffer.alloc(25 * 1024 * 1024 + 1),
      headers: { Cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` },
    });
    expect(response.status).toBe(413);
    expect(stack.netbox.state.requestsTo('/__double__/body')).toHaveLength(0);
  });

  it('refuses a password RADIUS cannot carry with a clear message, without asking any server', async () => {
    const before = stack.radius.requests.length;
    const response = await signIn(new CookieBrowser(stack.gateway.url), 'bob', 'p'.repeat(129));
    expect(response.status).toBe(400);
    expect(response.body).toContain('RADIUS can carry at most 128 bytes');
    expect(stack.radius.requests.length).toBe(before);
  });

  it('passes HTMX headers untouched and keeps the browser on the gateway when NetBox redirects absolutely', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const echoed = await browser.get('/__double__/headers', { 'HX-Request': 'true', 'HX-Target': 'object_list', 'HX-Current-URL': 'http://x/dcim/' });
    const seen = (JSON.parse(echoed.body) as { headers: Record<string, string> }).headers;
    expect(seen).toMatchObject({ 'hx-request': 'true', 'hx-target': 'object_list', 'hx-current-url': 'http://x/dcim/' });
    const redirected = await browser.get('/__double__/redirect?to=/dcim/sites/');
    expect(redirected.status).toBe(302);
    expect(redirected.location).toBe('/dcim/sites/');
  });

  it('serves NetBox static files without a session, and nothing but static files that way', async () => {
    stack.netbox.state.clearRequests();
    const response = await fetch(`${stack.gateway.url}/static/netbox.css`, { redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(stack.netbox.state.requests.map((r) => r.path)).toEqual(['/static/netbox.css']);
    // A static prefix must not become a way to any other NetBox path.
    for (const path of ['/static/login/', '/static/dcim/devices/', '/static/api/status/']) {
      stack.netbox.state.clearRequests();
      await fetch(`${stack.gateway.url}${path}`, { redirect: 'manual' });
      expect(stack.netbox.state.requests.map((r) => r.path)).toEqual([path]);
    }
    expect((await fetch(`${stack.gateway.url}/static/netbox.css`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses an absolute-form request target and stays up', async () => {
    const { port } = new URL(stack.gateway.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end('GET http://x/media/a.png HTTP/1.1\r\nHost: x\r\nAuthorization: Token junk\r\nConnection: close\r\n\r\n');
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`${stack.gateway.url}/-/health`)).status).toBe(200);
  });

  it('keeps NetBox redirects on this host, even to a path NetBox would take as protocol-relative', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const response = await browser.get('/__double__/redirect?to=/.//evil.example/x');
    expect(response.status).toBe(302);
    expect(response.location).toBe('/evil.example/x');
  });

  it('answers liveness without authentication or secrets', async () => {
    const response = await fetch(`${stack.gateway.url}/-/health`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ status: 'ok' });
    expect(text).not.toContain(stack.config.netbox.token);
  });

  it('provisions one user, once, when the same user signs in from ten browsers at the same moment', async () => {
    const browsers = Array.from({ length: 10 }, () => new CookieBrowser(stack.gateway.url));
    const pages = await Promise.all(browsers.map((b) => b.get('/-/login')));
    const results = await Promise.all(
      browsers.map((b, i) =>
        b.postForm('/-/login', { csrf_token: formToken(pages[i]!.body), next: '/', username: 'Carol', password: 'carol-Passw0rd' }),
      ),
    );
    // Carol is unknown to RADIUS: every one is rejected and nothing is created.
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(stack.netbox.state.findUser('carol')).toBeUndefined();

    const groupsBefore = stack.netbox.state.groups.size;
    const alices = Array.from({ length: 10 }, () => new CookieBrowser(stack.gateway.url));
    const alicePages = await Promise.all(alices.map((b) => b.get('/-/login')));
    const signedIn = await Promise.all(
      alices.map((b, i) => b.postForm('/-/login', { csrf_token: formToken(alicePages[i]!.body), next: '/', username: 'alice', password: STACK_USERS.alice!.password })),
    );
    expect(signedIn.map((r) => r.status)).toEqual(Array(10).fill(303));
    expect([...stack.netbox.state.users.values()].filter((u) => u.username.toLowerCase() === 'alice')).toHaveLength(1);
    expect(stack.netbox.state.groups.size).toBe(groupsBefore);
    const pagesAfter = await Promise.all(alices.map((b) => b.get('/')));
    expect(pagesAfter.map((p) => pageUser(p.body))).toEqual(Array(10).fill('alice'));
  });
});

describe('sign-in flow when things go wrong', () => {
  it('shows the NetBox-unavailable message and creates nothing when NetBox is down', async () => {
    const stack = await startStack();
    try {
      stack.netbox.state.fail('unavailable');
      const response = await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password);
      expect(response.status).toBe(503);
      expect(response.body).toContain('NetBox cannot be reached');
      stack.netbox.state.fail('none');
      expect(stack.netbox.state.findUser('bob')).toBeUndefined();
      // The next login, with NetBox back, works.
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password)).status).toBe(303);
    } finally {
      await stack.close();
    }
  });

  it('answers a token request with 502 when NetBox cannot say whether the token is good', async () => {
    const stack = await startStack();
    try {
      const { authorization } = stack.netbox.state.addToken({ userId: stack.netbox.state.addUser({ username: 'script4' }).id, version: 1 });
      stack.netbox.state.fail('unavailable');
      const response = await fetch(`${stack.gateway.url}/api/status/`, { headers: { Authorization: authorization } });
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ detail: 'NetBox is unavailable.' });
    } finally {
      await stack.close();
    }
  });

  it('leaves no half-provisioned user when creating the user fails', async () => {
    const stack = await startStack();
    try {
      stack.netbox.state.fail('users-post');
      const response = await signIn(new CookieBrowser(stack.gateway.url), 'alice', STACK_USERS.alice!.password);
      expect(response.status).toBe(503);
      expect(stack.netbox.state.findUser('alice')).toBeUndefined();
      stack.netbox.state.fail('none');
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(pageUser((await browser.get('/')).body)).toBe('alice');
    } finally {
      await stack.close();
    }
  });

  it('shows the AAA-unavailable message when no RADIUS server answers', async () => {
    const stack = await startStack();
    try {
      stack.radius.faults.blackHole = true;
      const response = await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password);
      expect(response.status).toBe(503);
      expect(response.body).toContain('authentication service cannot be reached');
      expect(response.body).toContain('value="bob"');
    } finally {
      await stack.close();
    }
  });

  it('fails over to the next RADIUS server when the first port is closed', async () => {
    const stack = await startStack({ radiusServersBefore: ['127.0.0.1:9'] });
    try {
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password)).status).toBe(303);
    } finally {
      await stack.close();
    }
  });

  it('refuses a user NetBox does not know when AUTO_CREATE_USER is false, and admits one it knows', async () => {
    const stack = await startStack({ env: { AUTO_CREATE_USER: 'false' } });
    try {
      const refused = await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('has not been set up in NetBox');
      expect(stack.netbox.state.findUser('bob')).toBeUndefined();

      stack.netbox.state.addUser({ username: 'Alice', password: 'Local-Passw0rd-1' });
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(pageUser((await browser.get('/')).body)).toBe('Alice');
    } finally {
      await stack.close();
    }
  });

  it('ends the gateway session after the idle timeout', async () => {
    const stack = await startStack({ adjust: (c) => ({ ...c, session: { ...c.session, idleTimeoutMs: 400 } }) });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      await signIn(browser, 'bob', STACK_USERS.bob!.password);
      expect((await browser.get('/')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 600));
      const after = await browser.get('/');
      expect(after.status).toBe(302);
      expect(after.location).toMatch(/^\/-\/login/);
    } finally {
      await stack.close();
    }
  });

  it('forgets a login form left open for more than 10 minutes, though the idle timeout is an hour', async () => {
    const stack = await startStack();
    expect(stack.config.session.idleTimeoutMs).toBe(3_600_000);
    // Only Date, which the session store reads; the gateway's sockets keep running on real timers.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const start = Date.now();
      const prompt = new CookieBrowser(stack.gateway.url);
      const slow = new CookieBrowser(stack.gateway.url);
      const promptForm = formToken((await prompt.get('/-/login')).body);
      const slowForm = formToken((await slow.get('/-/login')).body);
      const fields = (csrf: string) => ({ csrf_token: csrf, next: '/', username: 'bob', password: STACK_USERS.bob!.password });

      vi.setSystemTime(start + 10 * 60_000 - 1000);
      expect((await prompt.postForm('/-/login', fields(promptForm))).status).toBe(303);
      vi.setSystemTime(start + 10 * 60_000 + 1000);
      const late = await slow.postForm('/-/login', fields(slowForm));
      expect(late.status).toBe(403);
      expect(late.body).toContain('Your sign-in form had expired');
      // A signed-in session runs on the idle timeout.
      vi.setSystemTime(start + 10 * 60_000 - 1000 + 20 * 60_000);
      expect(pageUser((await prompt.get('/')).body)).toBe('bob');
    } finally {
      vi.useRealTimers();
      await stack.close();
    }
  });

  it('sets Secure on the cookie when a trusted proxy says the request came over HTTPS', async () => {
    const stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback' } });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      const headers = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'netbox.example.net', Origin: 'https://netbox.example.net' };
      const page = await browser.get('/-/login', headers);
      const response = await browser.postForm(
        '/-/login',
        { csrf_token: formToken(page.body), next: '/', username: 'bob', password: STACK_USERS.bob!.password },
        headers,
      );
      expect(response.status).toBe(303);
      expect(response.headers.getSetCookie().join('\n')).toMatch(/; Secure/);
    } finally {
      await stack.close();
    }
  });
});

describe('static files and trusted proxies', () => {
  it('serves /static/ from NETBOX_STATIC_ROOT without asking NetBox', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nbgw-static-'));
    writeFileSync(join(root, 'netbox.css'), 'body { color: teal }');
    const stack = await startStack({ env: { NETBOX_STATIC_ROOT: root } });
    try {
      const response = await fetch(`${stack.gateway.url}/static/netbox.css`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('body { color: teal }');
      expect((await fetch(`${stack.gateway.url}/static/missing.css`)).status).toBe(404);
      expect(stack.netbox.state.requestsTo('/static/')).toHaveLength(0);
    } finally {
      await stack.close();
    }
  });

  it("believes a trusted proxy's X-Forwarded-For for the client address", async () => {
    const stack = await startStack({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      const headers = { 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Host': 'netbox.example.net', 'X-Forwarded-Proto': 'https', Origin: 'https://netbox.example.net' };
      const page = await browser.get('/-/login', headers);
      await browser.postForm('/-/login', { csrf_token: formToken(page.body), next: '/', username: 'bob', password: STACK_USERS.bob!.password }, headers);
      expect(stack.radius.requests.at(-1)!.attributes).toContainEqual(['Calling-Station-Id', '198.51.100.7']);
      const seen = (JSON.parse((await browser.get('/__double__/headers', headers)).body) as { headers: Record<string, string> }).headers;
      expect(seen['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
      expect(seen['x-real-ip']).toBe('198.51.100.7');
      expect(seen['x-forwarded-host']).toBe('netbox.example.net');
      expect(seen['x-forwarded-proto']).toBe('https');
    } finally {
      await stack.close();
    }
  });
});

describe('token pre-check per client address', () => {
  it('checks a token accepted from one client address again when another address presents it', async () => {
    const stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback' } });
    try {
      const { state } = stack.netbox;
      const user = state.addUser({ username: 'script5', permissions: ['users.view_user'] });
      const { authorization } = state.addToken({ userId: user.id, version: 2, allowedIps: ['10.1.2.0/24'] });
      const from = (address: string) =>
        fetch(`${stack.gateway.url}/api/users/users/`, { headers: { Authorization: authorization, 'X-Forwarded-For': address } });
      state.clearRequests();

      expect((await from('10.1.2.3')).status).toBe(200);
      expect((await from('10.1.2.3')).status).toBe(200);
      expect(state.requestsTo('/api/users/config/')).toHaveLength(1);

      // NetBox refuses the token from this address; a cache keyed by the token alone would have let it through.
      expect((await from('203.0.113.9')).status).toBe(403);
      const checks = state.requestsTo('/api/users/config/');
      expect(checks).toHaveLength(2);
      expect(checks[1]!.headers['x-real-ip']).toBe('203.0.113.9');
      expect(state.requestsTo('/api/users/users/')).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });
});

describe('sign-in flow in remote-user mode', () => {
  it('gets the NetBox session through the header and never lets a client send it', async () => {
    const stack = await startStack({
      env: { NETBOX_SESSION_MODE: 'remote-user', REMOTE_USER_HEADER: 'X-Netbox-User' },
      netbox: { remoteAuth: { enabled: true, header: 'X-Netbox-User', autoCreateUser: false } },
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      const page = await browser.get('/dcim/');
      expect(pageUser(page.body)).toBe('alice');
      const alice = stack.netbox.state.findUser('alice')!;
      // Provisioned over REST; the header only opened the session. Nobody knows a password for this user.
      expect(stack.netbox.state.groupNamesOf(alice)).toContain('netbox-admin');

      stack.netbox.state.clearRequests();
      const spoof = await fetch(`${stack.gateway.url}/dcim/`, { headers: { 'X-Netbox-User': 'admin', x_netbox_user: 'admin' }, redirect: 'manual' });
      expect(spoof.status).toBe(302);
      expect(stack.netbox.state.requests).toHaveLength(0);
    } finally {
      await stack.close();
    }
  });

  it("keeps NetBox's own re-login from the browser: its Set-Cookie goes into the gateway's jar, which then presents it", async () => {
    const stack = await startStack({
      env: { NETBOX_SESSION_MODE: 'remote-user', REMOTE_USER_HEADER: 'X-Netbox-User' },
      netbox: { remoteAuth: { enabled: true, header: 'X-Netbox-User' } },
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      const { state } = stack.netbox;
      const alice = state.findUser('alice')!;
      for (const session of state.sessionsOf(alice.id)) state.sessions.delete(session.key);

      // RemoteUserMiddleware logs alice in again on this very request and answers with a new sessionid and csrftoken.
      const page = await browser.get('/dcim/');
      expect(pageUser(page.body)).toBe('alice');
      const renewed = state.sessionsOf(alice.id);
      expect(renewed).toHaveLength(1);
      expect(page.headers.getSetCookie().filter((line) => /^\s*(sessionid|csrftoken)\s*=/i.test(line))).toEqual([]);
      expect([...browser.cookies.keys()]).toEqual([COOKIE]);

      state.clearRequests();
      expect(pageUser((await browser.get('/ipam/')).body)).toBe('alice');
      expect(state.requestsTo('/ipam/')[0]!.headers.cookie).toContain(`sessionid=${renewed[0]!.key}`);
      // Presented the renewed session, so NetBox had no reason to log alice in a third time.
      expect(state.sessionsOf(alice.id).map((session) => session.key)).toEqual([renewed[0]!.key]);
    } finally {
      await stack.close();
    }
  });
});
