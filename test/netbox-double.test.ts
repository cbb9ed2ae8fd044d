import { afterEach, describe, expect, it } from 'vitest';
import { CookieBrowser, csrfFormToken, pageCsrfToken } from './netbox-double/browser.js';
import { startNetboxDouble, type NetboxDouble, type NetboxDoubleOptions } from './netbox-double/index.js';

const PASSWORD = 'Correct-Horse-42';
let double: NetboxDouble;

async function start(options: NetboxDoubleOptions = {}): Promise<NetboxDouble> {
  double = await startNetboxDouble(options);
  return double;
}

afterEach(async () => {
  await double?.close();
});

async function api(method: string, path: string, authorization: string, body?: unknown) {
  const response = await fetch(`${double.url}${path}`, {
    method,
    headers: { Authorization: authorization, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('login form and CSRF', () => {
  it('GET /login/ sets an HttpOnly csrftoken and renders a masked token that changes per render', async () => {
    await start();
    const browser = new CookieBrowser(double.url);
    const first = await browser.get('/login/');
    expect(first.status).toBe(200);
    const setCookie = first.headers.getSetCookie().find((c) => c.startsWith('csrftoken='));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Path=\//);
    const token = csrfFormToken(first.body);
    expect(token).toHaveLength(64);
    const second = await browser.get('/login/');
    expect(second.headers.getSetCookie()).toEqual([]);
    expect(csrfFormToken(second.body)).not.toBe(token);
  });

  it('logs in with a 302 to a relative next, a sessionid and a rotated csrftoken', async () => {
    await start();
    const alice = double.state.addUser({ username: 'alice', password: PASSWORD });
    const browser = new CookieBrowser(double.url);
    const form = await browser.get('/login/');
    const csrfBefore = browser.cookies.get('csrftoken');
    const response = await browser.postForm('/login/', {
      csrfmiddlewaretoken: csrfFormToken(form.body),
      username: 'alice',
      password: PASSWORD,
      next: '/dcim/devices/?q=1',
    });
    expect(response.status).toBe(302);
    expect(response.location).toBe('/dcim/devices/?q=1');
    expect(response.headers.getSetCookie().find((c) => c.startsWith('sessionid='))).toMatch(/HttpOnly.*Path=\//);
    expect(browser.cookies.get('csrftoken')).not.toBe(csrfBefore);
    expect(double.state.sessionsOf(alice.id)).toHaveLength(1);
  });

  it('ignores an absolute or protocol-relative next', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    expect((await new CookieBrowser(double.url).login('alice', PASSWORD, 'https://evil.example/')).location).toBe('/');
    expect((await new CookieBrowser(double.url).login('alice', PASSWORD, '//evil.example/')).location).toBe('/');
  });

  it('re-renders the form (200) for a wrong password, a wrong-case username and an inactive user', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    double.state.addUser({ username: 'bob', password: PASSWORD, isActive: false });
    for (const [username, password] of [
      ['alice', 'Wrong-password-1'],
      ['Alice', PASSWORD],
      ['bob', PASSWORD],
    ] as const) {
      const response = await new CookieBrowser(double.url).login(username, password);
      expect(response.status).toBe(200);
      expect(response.body).toContain('Please enter a correct username and password');
      expect(response.headers.getSetCookie().some((c) => c.startsWith('sessionid='))).toBe(false);
    }
    expect(double.state.sessions.size).toBe(0);
  });

  it('refuses a POST without the csrftoken cookie or with a wrong token (403)', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    const noCookie = await new CookieBrowser(double.url).postForm('/login/', { username: 'alice', password: PASSWORD });
    expect(noCookie.status).toBe(403);
    expect(noCookie.body).toContain('CSRF cookie not set.');

    const browser = new CookieBrowser(double.url);
    await browser.get('/login/');
    const wrong = await browser.postForm('/login/', { csrfmiddlewaretoken: 'x'.repeat(64), username: 'alice', password: PASSWORD });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toContain('CSRF token from POST incorrect.');
  });

  it('behind HTTPS also wants a Referer or Origin matching the forwarded host', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'netbox.example.com' };
    const attempt = async (extra: Record<string, string>) => {
      const browser = new CookieBrowser(double.url);
      const form = await browser.get('/login/', forwarded);
      return browser.postForm('/login/', { csrfmiddlewaretoken: csrfFormToken(form.body), username: 'alice', password: PASSWORD }, { ...forwarded, ...extra });
    };
    expect((await attempt({})).body).toContain('Referer checking failed - no Referer.');
    expect((await attempt({ Referer: 'https://other.example/login/' })).status).toBe(403);
    expect((await attempt({ Origin: 'http://netbox.example.com' })).body).toContain('Origin checking failed');
    expect((await attempt({ Referer: 'https://netbox.example.com/login/' })).status).toBe(302);
    expect((await attempt({ Origin: 'https://netbox.example.com' })).status).toBe(302);
  });

  it('GET /logout/ ends the session and redirects to /', async () => {
    await start();
    const alice = double.state.addUser({ username: 'alice', password: PASSWORD });
    const browser = new CookieBrowser(double.url);
    await browser.login('alice', PASSWORD);
    const response = await browser.get('/logout/');
    expect(response.status).toBe(302);
    expect(response.location).toBe('/');
    expect(double.state.sessionsOf(alice.id)).toEqual([]);
    expect(browser.cookies.has('sessionid')).toBe(false);
    expect((await browser.get('/')).status).toBe(302);
  });
});

describe('HTML pages', () => {
  it('send anonymous visitors to the login form with the full path as next, ignoring API tokens', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    const response = await new CookieBrowser(double.url).get('/dcim/devices/?q=a b&site=x', { Authorization: authorization });
    expect(response.status).toBe(302);
    expect(response.location).toBe('/login/?next=/dcim/devices/%3Fq%3Da%2520b%26site%3Dx');
  });

  it('show the user, their groups, the request, the forwarded headers and a CSRF token', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD, groups: ['ops', 'admins'] });
    const browser = new CookieBrowser(double.url);
    await browser.login('alice', PASSWORD);
    const page = await browser.get('/dcim/devices/?status=active', {
      'X-Forwarded-Host': 'netbox.example.com',
      'X-Forwarded-Proto': 'https',
      'X-Real-IP': '192.0.2.7',
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<span id="netbox-user">alice</span>');
    expect(page.body).toContain('<ul id="netbox-groups"><li>admins</li><li>ops</li></ul>');
    expect(page.body).toContain('<p id="request-path">/dcim/devices/</p>');
    expect(page.body).toContain('<p id="request-query">status=active</p>');
    expect(page.body).toContain('href="https://netbox.example.com/dcim/devices/?status=active"');
    expect(page.body).toContain('&#34;x-real-ip&#34;: &#34;192.0.2.7&#34;');
    expect(pageCsrfToken(page.body)).toHaveLength(64);
  });

  it("read the Cookie header as Django's parse_cookie does: Python's whitespace stripped, the last duplicate winning", async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    const browser = new CookieBrowser(double.url);
    await browser.login('alice', PASSWORD);
    const key = browser.cookies.get('sessionid')!;
    const userWith = async (cookie: string) => {
      const response = await fetch(`${double.url}/dcim/`, { headers: { Cookie: cookie }, redirect: 'manual' });
      return /<span id="netbox-user">([^<]*)<\/span>/.exec(await response.text())?.[1];
    };
    expect(await userWith(`sessionid=bogus; \x85sessionid\xa0=\xa0${key}\x85`)).toBe('alice');
    expect(await userWith(`sessionid=${key}; sessionid=bogus`)).toBeUndefined();
    expect(await userWith(`sessionid; =${key}`)).toBeUndefined();
  });

  it('accept a POST only with a CSRF token, from the form field or the X-CSRFToken header', async () => {
    await start();
    double.state.addUser({ username: 'alice', password: PASSWORD });
    const browser = new CookieBrowser(double.url);
    await browser.login('alice', PASSWORD);
    const page = await browser.get('/dcim/sites/');
    expect((await browser.postForm('/dcim/sites/', { comment: 'hi' })).status).toBe(403);
    const viaForm = await browser.postForm('/dcim/sites/', { csrfmiddlewaretoken: csrfFormToken(page.body), comment: 'hi' });
    expect(viaForm.body).toContain('<p id="post-result">accepted POST: comment=hi</p>');
    const viaHeader = await browser.postForm('/dcim/sites/', { comment: 'yo' }, { 'X-CSRFToken': pageCsrfToken(page.body) });
    expect(viaHeader.status).toBe(200);
  });

  it('serve /static/ without a session and /media/ with a token or a session', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    expect((await fetch(`${double.url}/static/netbox.css`)).status).toBe(200);
    expect((await fetch(`${double.url}/static/missing.css`)).status).toBe(404);
    expect((await fetch(`${double.url}/media/image-attachments/a.png`, { redirect: 'manual' })).status).toBe(302);
    const media = await fetch(`${double.url}/media/image-attachments/a.png`, { headers: { Authorization: authorization } });
    expect(await media.text()).toBe('media:image-attachments/a.png');
  });

  it('reject a comma-joined X-Forwarded-Host like Django does (400)', async () => {
    await start();
    const response = await fetch(`${double.url}/login/`, { headers: { 'X-Forwarded-Host': 'a.example, b.example' } });
    expect(response.status).toBe(400);
  });
});

describe('REST API authentication', () => {
  it('accepts v1 and v2 tokens and refuses missing or wrong ones with 403 detail', async () => {
    await start();
    const v1 = double.state.addServiceToken(1);
    const v2 = double.state.addServiceToken(2);
    expect(v1.value).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(v2.authorization).toMatch(/^Bearer nbt_[A-Za-z0-9]{12}\.[A-Za-z0-9]{40}$/);
    expect((await api('GET', '/api/users/users/', v1.authorization)).status).toBe(200);
    expect((await api('GET', '/api/users/users/', v2.authorization)).status).toBe(200);
    expect(await api('GET', '/api/users/users/', '')).toMatchObject({ status: 403, json: { detail: 'Authentication credentials were not provided.' } });
    expect(await api('GET', '/api/users/users/', `Token ${'a'.repeat(40)}`)).toMatchObject({ status: 403, json: { detail: 'Invalid token' } });
    expect((await api('GET', '/api/users/users/', `Bearer nbt_${'a'.repeat(12)}.nope`)).status).toBe(403);
  });

  it('knows no v2 tokens on 4.4', async () => {
    await start({ version: '4.4' });
    expect(() => double.state.addServiceToken(2)).toThrow();
    const response = await api('GET', '/api/users/users/', `Bearer nbt_${'a'.repeat(12)}.x`);
    expect(response.json).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('uses the session first: unsafe methods then need X-CSRFToken, even when a valid token is present', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    double.state.addUser({ username: 'alice', password: PASSWORD, isSuperuser: true });
    const browser = new CookieBrowser(double.url);
    await browser.login('alice', PASSWORD);
    const page = await browser.get('/');
    expect((await browser.get('/api/users/users/')).status).toBe(200);
    const body = JSON.stringify({ name: 'ops' });
    const json = { 'Content-Type': 'application/json' };
    const noCsrf = await browser.request('POST', '/api/users/groups/', { headers: { ...json, Authorization: authorization }, body });
    expect(noCsrf.status).toBe(403);
    expect(JSON.parse(noCsrf.body)).toEqual({ detail: 'CSRF Failed: CSRF token missing.' });
    const withCsrf = await browser.request('POST', '/api/users/groups/', { headers: { ...json, 'X-CSRFToken': pageCsrfToken(page.body) }, body });
    expect(withCsrf.status).toBe(201);
  });

  it('enforces permissions and read-only tokens', async () => {
    await start();
    const reader = double.state.addUser({ username: 'reader', permissions: ['users.view_user'] });
    const { authorization } = double.state.addToken({ userId: reader.id, version: 1 });
    expect((await api('GET', '/api/users/users/', authorization)).status).toBe(200);
    expect(await api('POST', '/api/users/groups/', authorization, { name: 'x' })).toMatchObject({
      status: 403,
      json: { detail: 'You do not have permission to perform this action.' },
    });
    const admin = double.state.addUser({ username: 'admin', isSuperuser: true });
    const readOnly = double.state.addToken({ userId: admin.id, version: 1, writeEnabled: false });
    expect((await api('POST', '/api/users/groups/', readOnly.authorization, { name: 'x' })).status).toBe(403);
  });

  it('checks expiry, inactive users and allowed_ips against X-Real-IP', async () => {
    await start();
    const admin = double.state.addUser({ username: 'admin', isSuperuser: true });
    const expired = double.state.addToken({ userId: admin.id, version: 2, expires: new Date(Date.now() - 1000) });
    expect((await api('GET', '/api/status/', expired.authorization)).json).toEqual({ detail: 'Token expired' });
    const limited = double.state.addToken({ userId: admin.id, version: 1, allowedIps: ['10.0.0.0/8'] });
    const from = (ip: string) => fetch(`${double.url}/api/status/`, { headers: { Authorization: limited.authorization, 'X-Real-IP': ip } });
    expect((await from('10.1.2.3')).status).toBe(200);
    expect((await from('192.0.2.1')).status).toBe(403);
    admin.isActive = false;
    expect((await api('GET', '/api/status/', limited.authorization)).status).toBe(403);
  });

  it('reports the version on /api/status/', async () => {
    await start({ version: '4.6.0' });
    const { authorization } = double.state.addServiceToken();
    expect((await api('GET', '/api/status/', authorization)).json['netbox-version']).toBe('4.6.0');
  });
});

describe('REST API trailing slashes', () => {
  it('answers 404 to unsafe methods without the slash on 4.6, and redirects GETs', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    expect((await api('POST', '/api/users/users', authorization, { username: 'x', password: PASSWORD })).status).toBe(404);
    expect((await api('PATCH', '/api/users/users/1', authorization, {})).status).toBe(404);
    const get = await api('GET', '/api/users/users?limit=1', authorization);
    expect(get.status).toBe(301);
    expect(get.headers.get('location')).toBe('/api/users/users/?limit=1');
    expect(double.state.users.size).toBe(1);
  });

  it('redirects unsafe methods too on 4.4 (which a client following it would turn into a GET)', async () => {
    await start({ version: '4.4' });
    const { authorization } = double.state.addServiceToken();
    expect((await api('POST', '/api/users/users', authorization, { username: 'x', password: PASSWORD })).status).toBe(301);
  });
});

describe('users API', () => {
  let token: string;
  const setup = async (options: NetboxDoubleOptions = {}) => {
    await start(options);
    token = double.state.addServiceToken().authorization;
  };

  it('creates a user with groups as IDs and reads them back as brief objects; no password, no is_superuser', async () => {
    await setup();
    const ops = double.state.addGroup('ops', 'Operators');
    const created = await api('POST', '/api/users/users/', token, {
      username: 'alice',
      password: PASSWORD,
      first_name: 'Alice',
      email: 'alice@EXAMPLE.com',
      groups: [ops.id],
      is_superuser: true,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      username: 'alice',
      display: 'alice (Alice)',
      first_name: 'Alice',
      email: 'alice@example.com',
      is_active: true,
      groups: [{ id: ops.id, name: 'ops', display: 'ops', description: 'Operators', url: expect.stringMatching(/\/api\/users\/groups\/\d+\/$/) }],
    });
    expect(created.json).not.toHaveProperty('password');
    expect(created.json).not.toHaveProperty('is_superuser');
    expect(created.json).not.toHaveProperty('is_staff');
    expect(double.state.findUser('alice')?.isSuperuser).toBe(false);
  });

  it('shows is_staff on 4.4 only', async () => {
    await setup({ version: '4.4' });
    const created = await api('POST', '/api/users/users/', token, { username: 'alice', password: PASSWORD, is_staff: true });
    expect(created.json['is_staff']).toBe(true);
  });

  it('validates username, password and groups with DRF-shaped errors', async () => {
    await setup();
    expect((await api('POST', '/api/users/users/', token, { username: 'alice' })).json).toEqual({ password: ['This field is required.'] });
    expect((await api('POST', '/api/users/users/', token, { username: 'al ice', password: PASSWORD })).json).toEqual({
      username: ['Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'],
    });
    expect((await api('POST', '/api/users/users/', token, { username: 'a'.repeat(151), password: PASSWORD })).json).toEqual({
      username: ['Ensure this field has no more than 150 characters.'],
    });
    expect((await api('POST', '/api/users/users/', token, { username: 'alice', password: PASSWORD, groups: [99] })).json).toEqual({
      groups: ['Invalid pk "99" - object does not exist.'],
    });
    const weak = await api('POST', '/api/users/users/', token, { username: 'alice', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.json['non_field_errors']).toContain('This password is too short. It must contain at least 12 characters.');
    expect((await api('POST', '/api/users/users/', token, { username: 'alice', password: 'alllowercase123' })).json).toEqual({
      non_field_errors: ['Password should have at least one uppercase letter'],
    });
    expect(double.state.findUser('alice')).toBeUndefined();
  });

  it('keeps usernames unique ignoring case', async () => {
    await setup();
    expect((await api('POST', '/api/users/users/', token, { username: 'Alice', password: PASSWORD })).status).toBe(201);
    expect(await api('POST', '/api/users/users/', token, { username: 'Alice', password: PASSWORD })).toMatchObject({
      status: 400,
      json: { username: ['A user with that username already exists.'] },
    });
    expect(await api('POST', '/api/users/users/', token, { username: 'alice', password: PASSWORD })).toMatchObject({
      status: 400,
      json: { __all__: ['A user with this username already exists.'] },
    });
  });

  it('filters by exact and case-insensitive username and paginates', async () => {
    await setup();
    for (const name of ['Alice', 'bob', 'carol']) double.state.addUser({ username: name });
    const names = async (query: string) =>
      ((await api('GET', `/api/users/users/?${query}`, token)).json['results'] as Array<{ username: string }>).map((u) => u.username);
    expect(await names('username=alice')).toEqual([]);
    expect(await names('username=Alice')).toEqual(['Alice']);
    expect(await names('username__ie=ALICE')).toEqual(['Alice']);
    expect(await names('username=bob&username=carol')).toEqual(['bob', 'carol']);
    const page = await api('GET', '/api/users/users/?limit=2', token);
    expect(page.json).toMatchObject({ count: 4, previous: null, next: expect.stringContaining('offset=2') });
    expect((await api('GET', '/api/users/users/?id=x', token)).status).toBe(400);
  });

  it('PATCH updates only the given fields; a password change ends every web session of that user', async () => {
    await setup();
    const alice = double.state.addUser({ username: 'alice', password: PASSWORD, firstName: 'Alice', email: 'a@example.com' });
    const one = new CookieBrowser(double.url);
    const two = new CookieBrowser(double.url);
    await one.login('alice', PASSWORD);
    await two.login('alice', PASSWORD);
    expect(double.state.sessionsOf(alice.id)).toHaveLength(2);

    expect((await api('PATCH', `/api/users/users/${alice.id}/`, token, { last_name: 'Liddell' })).json).toMatchObject({
      first_name: 'Alice',
      last_name: 'Liddell',
      email: 'a@example.com',
    });
    expect((await one.get('/')).status).toBe(200);

    expect((await api('PATCH', `/api/users/users/${alice.id}/`, token, { password: 'New-password-99' })).status).toBe(200);
    expect((await one.get('/')).status).toBe(302);
    expect((await two.get('/')).status).toBe(302);
    expect(double.state.sessionsOf(alice.id)).toEqual([]);
    expect((await new CookieBrowser(double.url).login('alice', 'New-password-99')).status).toBe(302);
  });

  it('DELETE removes the user, its sessions and its tokens', async () => {
    await setup();
    const alice = double.state.addUser({ username: 'alice', password: PASSWORD });
    double.state.addToken({ userId: alice.id, version: 1 });
    await new CookieBrowser(double.url).login('alice', PASSWORD);
    expect((await api('DELETE', `/api/users/users/${alice.id}/`, token)).status).toBe(204);
    expect(double.state.user(alice.id)).toBeUndefined();
    expect(double.state.sessionsOf(alice.id)).toEqual([]);
    expect([...double.state.tokens.values()].filter((t) => t.userId === alice.id)).toEqual([]);
    expect((await api('GET', `/api/users/users/${alice.id}/`, token)).status).toBe(404);
  });
});

describe('groups API', () => {
  it('creates groups with unique exact names and filters by name and name__ie', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    expect((await api('POST', '/api/users/groups/', authorization, { name: 'Ops', description: 'd' })).status).toBe(201);
    expect(await api('POST', '/api/users/groups/', authorization, { name: 'Ops' })).toMatchObject({
      status: 400,
      json: { name: ['group with this name already exists.'] },
    });
    expect((await api('POST', '/api/users/groups/', authorization, { name: 'ops' })).status).toBe(201);
    const list = async (query: string) =>
      ((await api('GET', `/api/users/groups/?${query}`, authorization)).json['results'] as Array<{ name: string }>).map((g) => g.name);
    expect(await list('name=Ops')).toEqual(['Ops']);
    expect(await list('name__ie=OPS')).toEqual(['Ops', 'ops']);
    const [group] = (await api('GET', '/api/users/groups/?name=Ops', authorization)).json['results'] as Array<{ id: number }>;
    expect((await api('PATCH', `/api/users/groups/${group?.id}/`, authorization, { description: 'x' })).json['description']).toBe('x');
    expect((await api('DELETE', `/api/users/groups/${group?.id}/`, authorization)).status).toBe(204);
  });
});

describe('tokens API', () => {
  it('4.6.8 returns the plaintext once; the minted v2 token works and DELETE revokes it', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    const alice = double.state.addUser({ username: 'alice', isSuperuser: true });
    const created = await api('POST', '/api/users/tokens/', authorization, { user: { username: 'alice' }, version: 2, write_enabled: false });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ version: 2, write_enabled: false, user: { id: alice.id, username: 'alice' } });
    const minted = `Bearer nbt_${String(created.json['key'])}.${String(created.json['token'])}`;
    expect((await api('GET', '/api/status/', minted)).status).toBe(200);
    expect((await api('GET', `/api/users/tokens/${String(created.json['id'])}/`, authorization)).json['token']).toBeNull();
    expect((await api('DELETE', `/api/users/tokens/${String(created.json['id'])}/`, authorization)).status).toBe(204);
    expect((await api('GET', '/api/status/', minted)).status).toBe(403);
  });

  it('4.6.0 answers token: null, so the caller sends its own', async () => {
    await start({ version: '4.6.0' });
    const { authorization } = double.state.addServiceToken();
    double.state.addUser({ username: 'alice' });
    const own = 'b'.repeat(40);
    const created = await api('POST', '/api/users/tokens/', authorization, { user: { username: 'alice' }, version: 1, token: own });
    expect(created.json['token']).toBeNull();
    expect((await api('GET', '/api/status/', `Token ${own}`)).status).toBe(200);
  });

  it('4.4 takes a write-only key; v2 without peppers is a 400', async () => {
    await start({ version: '4.4' });
    const { authorization } = double.state.addServiceToken();
    double.state.addUser({ username: 'alice' });
    const key = 'c'.repeat(40);
    const created = await api('POST', '/api/users/tokens/', authorization, { user: { username: 'alice' }, key });
    expect(created.status).toBe(201);
    expect(created.json).not.toHaveProperty('key');
    expect(created.json).not.toHaveProperty('token');
    expect((await api('GET', '/api/status/', `Token ${key}`)).status).toBe(200);
    await double.close();

    await start();
    const service = double.state.addServiceToken();
    double.state.peppersConfigured = false;
    expect((await api('POST', '/api/users/tokens/', service.authorization, { user: 1, version: 2 })).status).toBe(400);
  });
});

describe('remote-user mode', () => {
  const remote = { enabled: true, header: 'Remote-User', autoCreateUser: true };

  it('logs the header user into a session that keeps working without the header', async () => {
    await start({ remoteAuth: remote });
    const browser = new CookieBrowser(double.url);
    const first = await browser.get('/login/?next=/dcim/', { 'Remote-User': 'alice' });
    expect(first.status).toBe(302);
    expect(first.location).toBe('/dcim/');
    const alice = double.state.userByExactName('alice');
    expect(alice).toBeDefined();
    expect(double.state.sessionsOf(alice?.id ?? 0)).toMatchObject([{ backend: 'remote-user' }]);
    const page = await browser.get('/dcim/');
    expect(page.body).toContain('<span id="netbox-user">alice</span>');
    // Same user again: the existing session is kept, no new cookie.
    const again = await browser.get('/', { 'Remote-User': 'alice' });
    expect(again.headers.getSetCookie()).toEqual([]);
    // Another name: that user replaces the session.
    await browser.get('/', { 'Remote-User': 'bob' });
    expect((await browser.get('/')).body).toContain('<span id="netbox-user">bob</span>');
    expect(double.state.sessionsOf(alice?.id ?? 0)).toEqual([]);
  });

  it('does not create users when auto-create is off, nor log in inactive users', async () => {
    await start({ remoteAuth: { ...remote, autoCreateUser: false } });
    double.state.addUser({ username: 'carol', isActive: false });
    expect((await new CookieBrowser(double.url).get('/', { 'Remote-User': 'dave' })).status).toBe(302);
    expect(double.state.findUser('dave')).toBeUndefined();
    expect((await new CookieBrowser(double.url).get('/', { 'Remote-User': 'carol' })).location).toMatch(/^\/login\//);
    expect(double.state.sessions.size).toBe(0);
  });

  it('turns an API POST carrying the header into a session request that fails CSRF', async () => {
    await start({ remoteAuth: remote });
    const { authorization } = double.state.addServiceToken();
    const response = await fetch(`${double.url}/api/users/groups/`, {
      method: 'POST',
      headers: { Authorization: authorization, 'Remote-User': 'gateway-service', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ detail: 'CSRF Failed: CSRF token missing.' });
  });

  it('is ignored when remote auth is disabled, and the request log shows what arrived', async () => {
    await start();
    const response = await new CookieBrowser(double.url).get('/', { 'Remote-User': 'alice' });
    expect(response.status).toBe(302);
    expect(double.state.findUser('alice')).toBeUndefined();
    expect(double.state.requestsTo('/')[0]?.headers['remote-user']).toBe('alice');
  });
});

describe('failure switches and test endpoints', () => {
  it('answers 503 to everything, hangs, or fails only user creation', async () => {
    await start();
    const { authorization } = double.state.addServiceToken();
    double.state.fail('unavailable');
    expect((await fetch(`${double.url}/api/status/`, { headers: { Authorization: authorization } })).status).toBe(503);
    double.state.fail('hang');
    await expect(fetch(`${double.url}/login/`, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    double.state.fail('users-post');
    expect((await api('POST', '/api/users/users/', authorization, { username: 'x', password: PASSWORD })).status).toBe(500);
    expect((await api('POST', '/api/users/groups/', authorization, { name: 'x' })).status).toBe(201);
    double.state.fail('none');
    expect((await api('POST', '/api/users/users/', authorization, { username: 'x', password: PASSWORD })).status).toBe(201);
  });

  it('counts body bytes, echoes headers, answers slowly and redirects absolutely', async () => {
    await start();
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const counted = await (await fetch(`${double.url}/__double__/body`, { method: 'POST', body })).json();
    expect(counted).toMatchObject({ bytes: body.length });
    const echoed = await (await fetch(`${double.url}/__double__/headers`, { headers: { 'X-Test': '1' } })).json();
    expect(echoed).toMatchObject({ method: 'GET', headers: { 'x-test': '1' } });
    const started = Date.now();
    expect(await (await fetch(`${double.url}/__double__/slow?ms=150`)).text()).toBe('slow 150');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const redirect = await fetch(`${double.url}/__double__/redirect?to=/dcim/`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe(`${double.url}/dcim/`);
  });
});
