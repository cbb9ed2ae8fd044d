import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { parseDjangoCookies } from '../netbox-double/context.js';
import { formToken, pageUser, signIn } from '../support/gateway-form.js';
import { rawGet, sendRaw } from '../support/raw-http.js';
import { startStack, STACK_USERS, type Stack } from '../support/stack.js';

const COOKIE = 'nbgw_session';

/**
 * The findings of issue 8, each sent as an attacker sends it: exact bytes over a socket where `fetch` would have
 * normalised the request. Each test names the finding it covers.
 */
describe('the front door (password mode)', () => {
  let stack: Stack;
  let bob: CookieBrowser;
  beforeAll(async () => {
    stack = await startStack();
    bob = new CookieBrowser(stack.gateway.url);
    expect((await signIn(bob, 'bob', STACK_USERS.bob!.password)).status).toBe(303);
  });
  afterAll(async () => {
    await stack.close();
  });
  const bobCookie = () => `${COOKIE}=${bob.cookies.get(COOKIE)}`;
  const healthy = async () => expect((await fetch(`${stack.gateway.url}/-/health`)).status).toBe(200);
  const netboxRequests = () => stack.netbox.state.requests.map((r) => `${r.method} ${r.path}`);

  it.each([
    ['HTTP/1.0 without Host', 'GET /static/x.css HTTP/1.0\r\n\r\n'],
    ['an empty Host', 'GET /static/x.css HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'],
    ['a blank Host', 'GET /static/x.css HTTP/1.1\r\nHost:  \t\r\nConnection: close\r\n\r\n'],
    ['a Host with a space', 'GET /static/x.css HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'],
    ['a Latin-1 Host', 'GET /static/x.css HTTP/1.1\r\nHost: \xe9vil\r\nConnection: close\r\n\r\n'],
    ['a broken IPv6 Host', 'GET /static/x.css HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n'],
    ['a Host port out of range', 'GET /static/x.css HTTP/1.1\r\nHost: x:99999\r\nConnection: close\r\n\r\n'],
    ['an anonymous API call without Host', 'GET /api/status/ HTTP/1.0\r\nAuthorization: Token junk\r\n\r\n'],
  ])('1: answers a request with %s with 400 and stays up', async (_name, bytes) => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(stack.gateway.url, bytes);
    expect(answer.status).toBe(400);
    await healthy();
    expect(netboxRequests()).toEqual([]);
  });

  it.each([
    '/static/../login/',
    '/static/%2e%2e/api/users/users/',
    '/static/%2E%2e/api/users/users/',
    '/static/.%2e/login/',
    '/static/..\\api\\users\\users\\',
    '/static/%5c..%5capi/users/users/',
    '/static/..%2flogin/',
    '/static/%252e%252e/login/',
    '/static/./../login/',
  ])('2: refuses %s before any routing, token or not, and nothing reaches NetBox', async (target) => {
    stack.netbox.state.clearRequests();
    for (const extra of [[], ['Authorization: Token 0123456789abcdef0123456789abcdef01234567']]) {
      const answer = await sendRaw(stack.gateway.url, rawGet(target, ['Host: gateway.test', ...extra]));
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('Bad request: the request target has');
    }
    expect(netboxRequests()).toEqual([]);
  });

  it('2: proxies a clean static path as it was checked, with repeated slashes merged', async () => {
    stack.netbox.state.clearRequests();
    expect((await sendRaw(stack.gateway.url, rawGet('//static///netbox.css'))).status).toBe(200);
    expect(netboxRequests()).toEqual(['GET /static/netbox.css']);
  });

  it('3: counts the bytes of a chunked upload, answers 413 past 25 MB and cuts NetBox off', async () => {
    stack.netbox.state.uploads.length = 0;
    const { port } = new URL(stack.gateway.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/__double__/body', headers: { Cookie: bobCookie(), 'Transfer-Encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
      const chunk = Buffer.alloc(1024 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 40 && !req.destroyed) {
          sent += 1;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    await expect.poll(() => stack.netbox.state.uploads.length).toBe(1);
    const [upload] = stack.netbox.state.uploads;
    expect(upload!.complete).toBe(false);
    expect(upload!.bytes).toBeLessThanOrEqual(25 * 1024 * 1024);
    await healthy();
  });

  it('3: refuses a body on an anonymous static request, chunked or not', async () => {
    stack.netbox.state.clearRequests();
    const chunked = await sendRaw(
      stack.gateway.url,
      `GET /static/netbox.css HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n${'a'.repeat(0x100000)}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(400);
    const sized = await sendRaw(stack.gateway.url, 'GET /static/netbox.css HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    expect(sized.status).toBe(400);
    expect(netboxRequests()).toEqual([]);
  });

  it('3: counts the bytes of a chunked login form too', async () => {
    const answer = await sendRaw(
      stack.gateway.url,
      `POST /-/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\nusername=${'a'.repeat(0x10000 - 9)}\r\n0\r\n\r\n`,
    );
    expect(answer.status).toBe(413);
  });

  it.each([
    ['NEL before the name', '\x85sessionid=stolen; \x85csrftoken=planted'],
    ['NBSP before the name', '\xa0sessionid=stolen; \xa0csrftoken=planted'],
    ['a trailing NEL', 'sessionid\x85=stolen; csrftoken\xa0=planted'],
  ])('4: drops NetBox cookies Django would read despite %s', async (_name, smuggled) => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(stack.gateway.url, rawGet('/__double__/headers', ['Host: x', `Cookie: ${bobCookie()}; ${smuggled}; theme=dark`]));
    expect(answer.status).toBe(200);
    const seen = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers.cookie as string;
    const django = parseDjangoCookies(seen);
    expect(django.sessionid).toBe(bobJar().sessionid);
    expect(django.csrftoken).toBe(bobJar().csrftoken);
    expect(seen).not.toContain('stolen');
    expect(seen).not.toContain('planted');
    expect(django.theme).toBe('dark');
  });

  it.each(['\x1csessionid=stolen', '\x0bsessionid=stolen', '\x0ccsrftoken=planted'])('4: control characters in a cookie (%j) never get past the parser', async (smuggled) => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(stack.gateway.url, rawGet('/__double__/headers', ['Host: x', `Cookie: ${bobCookie()}; ${smuggled}`]));
    expect(answer.status).toBe(400);
    expect(netboxRequests()).toEqual([]);
  });

  it("4: an Expect header does not skip the gateway's rewriting of the request", async () => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(
      stack.gateway.url,
      `POST /__double__/headers HTTP/1.1\r\nHost: x\r\nCookie: ${bobCookie()}; sessionid=stolen\r\nX-Forwarded-For: 203.0.113.9\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`,
    );
    expect(answer.text).toMatch(/HTTP\/1\.1 200 OK/);
    const seen = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers;
    expect(parseDjangoCookies(seen.cookie as string).sessionid).toBe(bobJar().sessionid);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.expect).toBeUndefined();
  });

  it.each([
    '//evil.example/x',
    '/\\evil.example',
    ' //evil.example',
    '\t//evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    'http://127.0.0.2:1/',
  ])('5: refuses a NetBox redirect to %j', async (value) => {
    const answer = await bob.get(`/__double__/location?value=${encodeURIComponent(value)}`);
    expect(answer.status).toBe(502);
    expect(answer.location).toBeUndefined();
  });

  it('5: makes a NetBox-origin redirect local and keeps a clean local one', async () => {
    expect((await bob.get(`/__double__/location?value=${encodeURIComponent(`${stack.netbox.url}/dcim/sites/?q=1`)}`)).location).toBe('/dcim/sites/?q=1');
    expect((await bob.get(`/__double__/location?value=${encodeURIComponent('/ipam/')}&status=301`)).location).toBe('/ipam/');
  });

  it.each([
    ['Refresh', '0; url=https://evil.example/', undefined],
    ['Refresh', '5;URL=//evil.example', undefined],
    ['Refresh', 'soon', undefined],
    ['Refresh', "3; url='/dcim/'", '3; url=/dcim/'],
    ['Refresh', '10', '10'],
    ['HX-Redirect', 'https://evil.example/', undefined],
    ['HX-Location', '/\\evil.example', undefined],
    ['HX-Redirect', 'NETBOX/ipam/', '/ipam/'],
    ['HX-Location', '{"path":"https://evil.example/","target":"#x"}', undefined],
    ['HX-Location', '{"path":"NETBOX/dcim/","target":"#x"}', '{"path":"/dcim/","target":"#x"}'],
    ['HX-Location', '{"target":"#x"}', undefined],
    ['HX-Location', '{not json', undefined],
  ])('5: keeps a NetBox %s header (%s) on this site', async (header, value, expected) => {
    const answer = await bob.get(`/__double__/location?status=200&header=${header}&value=${encodeURIComponent(value.replace('NETBOX', stack.netbox.url))}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get(header) ?? undefined).toBe(expected);
  });

  it('sends no client cookie at all with an anonymous static request', async () => {
    stack.netbox.state.clearRequests();
    await sendRaw(stack.gateway.url, rawGet('/static/netbox.css', ['Host: x', 'Cookie: theme=dark; nb_session=custom-name; \x85sessionid=x']));
    expect(stack.netbox.state.requestsTo('/static/netbox.css')[0]!.headers.cookie).toBeUndefined();
  });

  it('7: a cross-site GET of /-/logout asks first and signs nobody out', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    for (const hints of [{}, { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }, { Referer: 'https://evil.example/' }, { Origin: 'https://evil.example' }] as Record<string, string>[]) {
      const page = await browser.get('/-/logout', hints);
      expect(page.status).toBe(200);
      expect(page.body).toContain('id="sign-out"');
    }
    expect(pageUser((await browser.get('/')).body)).toBe('bob');
  });

  it('7: a POST to /-/logout without the form token signs nobody out; with it, it does', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const forged = await browser.postForm('/-/logout', {});
    expect(forged.status).toBe(403);
    expect(pageUser((await browser.get('/')).body)).toBe('bob');
    const crossSite = await browser.postForm('/-/logout', { csrf_token: formToken(forged.body) }, { Origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(pageUser((await browser.get('/')).body)).toBe('bob');
    const confirmed = await browser.postForm('/-/logout', { csrf_token: formToken(forged.body) });
    expect(confirmed.status).toBe(303);
    expect(confirmed.location).toBe('/-/login?notice=signed-out');
    expect((await browser.get('/')).status).toBe(302);
  });

  it.each<Record<string, string>>([{ 'Sec-Fetch-Site': 'same-origin' }, { Referer: '/dcim/' }, { Origin: '' }])('7: a GET of /-/logout from this site signs out at once (%j)', async (hints) => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const own = Object.fromEntries(Object.entries(hints).map(([name, value]) => [name, name === 'Sec-Fetch-Site' ? value : `${stack.gateway.url}${value}`]));
    const out = await browser.get('/-/logout', own);
    expect(out.status).toBe(303);
    expect((await browser.get('/')).status).toBe(302);
  });

  it('7: /-/reauth renews NetBox only when NetBox asked for it, and signs nobody out from another site', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    // Another user than bob: ending this user's NetBox sessions must not touch the other tests' browser.
    await signIn(browser, 'nobody', STACK_USERS.nobody!.password);
    const user = stack.netbox.state.findUser('nobody')!;
    const sessionKeys = () => stack.netbox.state.sessionsOf(user.id).map((session) => session.key);
    const before = sessionKeys();
    // Sent there by another site: nothing renewed, nothing ended.
    for (let i = 0; i < 3; i += 1) {
      const visit = await browser.get('/-/reauth?next=/dcim/', { 'Sec-Fetch-Site': 'cross-site' });
      expect(visit.status).toBe(303);
      expect(visit.location).toBe('/dcim/');
    }
    expect(sessionKeys()).toEqual(before);
    expect(pageUser((await browser.get('/dcim/')).body)).toBe('nobody');

    // NetBox ends the session; its login redirect, followed from a cross-site navigation, renews it once.
    const endNetboxSessions = () => {
      for (const key of sessionKeys()) stack.netbox.state.sessions.delete(key);
    };
    endNetboxSessions();
    const toReauth = await browser.get('/dcim/devices/', { 'Sec-Fetch-Site': 'cross-site' });
    expect(toReauth.location).toBe('/-/reauth?next=%2Fdcim%2Fdevices%2F');
    expect((await browser.get(toReauth.location!, { 'Sec-Fetch-Site': 'cross-site' })).location).toBe('/dcim/devices/');
    expect(pageUser((await browser.get('/dcim/devices/')).body)).toBe('nobody');

    // NetBox refuses again within the minute: from another site that only shows a page, from this site it signs out.
    endNetboxSessions();
    await browser.get('/dcim/', { 'Sec-Fetch-Site': 'cross-site' });
    const refused = await browser.get('/-/reauth?next=/dcim/', { 'Sec-Fetch-Site': 'cross-site' });
    expect(refused.status).toBe(200);
    expect(refused.body).toContain('NetBox did not accept your session');
    await browser.get('/dcim/');
    const own = await browser.get('/-/reauth?next=/dcim/', { 'Sec-Fetch-Site': 'same-origin' });
    expect(own.location).toBe('/-/login?notice=netbox-session-ended&next=%2Fdcim%2F');
  });

  it.each(['https://HOST', 'http://HOST:1', 'http://evil.example', 'null'])('7: the login Origin check compares scheme, host and port (Origin %s)', async (origin) => {
    const browser = new CookieBrowser(stack.gateway.url);
    const page = await browser.get('/-/login');
    const host = new URL(stack.gateway.url).hostname;
    const response = await browser.postForm(
      '/-/login',
      { csrf_token: formToken(page.body), username: 'bob', password: STACK_USERS.bob!.password, next: '/' },
      { Origin: origin.replace('HOST', host) },
    );
    expect(response.status).toBe(403);
  });

  it('8: /-/ready tells a loopback operator the detail by default', async () => {
    const body = (await (await fetch(`${stack.gateway.url}/-/ready`)).json()) as Record<string, unknown>;
    expect(body.status).toBe('ready');
    expect(body.aaa).toMatchObject({ method: 'radius', usable: true });
  });

  it('9: helmet headers on every answer the gateway makes itself', async () => {
    const answers = [
      await bob.get('/-/login'),
      await new CookieBrowser(stack.gateway.url).get('/dcim/'),
      await new CookieBrowser(stack.gateway.url).get('/api/dcim/'),
      await new CookieBrowser(stack.gateway.url).get('/-/nothing'),
      await new CookieBrowser(stack.gateway.url).get('/static/a%2fb'),
      await bob.get(`/__double__/location?value=${encodeURIComponent('//evil.example')}`),
    ];
    expect(answers.map((a) => a.status)).toEqual([303, 302, 401, 404, 400, 502]);
    for (const answer of answers) {
      expect(answer.headers.get('content-security-policy')).toBe(
        "default-src 'none';style-src 'self';img-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none'",
      );
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('same-origin');
      expect(answer.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it("9: NetBox's pages keep NetBox's own headers and get only nosniff from the gateway", async () => {
    const secured = await bob.get('/__double__/secured');
    expect(secured.headers.get('content-security-policy')).toBe("default-src 'self' netbox");
    expect(secured.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(secured.headers.get('x-content-type-options')).toBe('nosniff');
    const plain = await bob.get('/dcim/');
    expect(pageUser(plain.body)).toBe('bob');
    for (const name of ['content-security-policy', 'x-frame-options', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster']) {
      expect(plain.headers.get(name), name).toBeNull();
    }
    expect(plain.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('10: the gateway\'s own headers reach NetBox before the client\'s, so a flood of fields pushes out only the client\'s', async () => {
    // A server reads only so many header fields: Node 20 keeps 1,000 and drops the rest without a word, Node 24 answers
    // 431, gunicorn refuses past 100. Found by the malformed-request fuzz (FUZZ_SEED=0x165f8c12), where the gateway's
    // forwarding headers came last and were the ones dropped.
    const ownFirst = ['host', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for', 'x-real-ip', 'cookie'];
    // Not digits alone: an object lists integer-like keys first, whatever order they came in.
    const junk = (count: number) => Array.from({ length: count }, (_, i) => `j${i.toString(36)}:\r\n`).join('');
    const send = (count: number) =>
      sendRaw(stack.gateway.url, `GET /__double__/headers HTTP/1.1\r\nHost: x\r\nCookie: ${bobCookie()}\r\n${junk(count)}Connection: close\r\n\r\n`);

    stack.netbox.state.clearRequests();
    expect((await send(20)).status).toBe(200);
    const few = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers;
    expect(Object.keys(few).slice(0, ownFirst.length)).toEqual(ownFirst);

    // 996 of the client's and the gateway's 6 pass what NetBox's server (here a Node server, like the gateway) reads.
    stack.netbox.state.clearRequests();
    const flood = await send(996);
    expect([200, 431]).toContain(flood.status);
    for (const recorded of stack.netbox.state.requestsTo('/__double__/headers')) {
      expect(recorded.headers['x-forwarded-proto']).toBe('http');
      expect(recorded.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(recorded.headers['x-real-ip']).toBe('127.0.0.1');
      expect(recorded.headers.cookie).toMatch(/(^|; )sessionid=/);
      expect(recorded.headers[`j${(995).toString(36)}`]).toBeUndefined();
    }
    if (process.versions.node.startsWith('20.')) expect(flood.status).toBe(200);
  });

  it('10: headers the client names in Connection are dropped before the gateway sets its own', async () => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(
      stack.gateway.url,
      `GET /__double__/headers HTTP/1.1\r\nHost: x\r\nCookie: ${bobCookie()}\r\nConnection: keep-alive, Remote-User, X-Forwarded-For, X-Real-IP, X-Custom, Host, close\r\n` +
        'X-Custom: dropped\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-Late\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n',
    );
    expect(answer.status).toBe(200);
    const seen = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers;
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-real-ip']).toBe('127.0.0.1');
    expect(seen['x-kept']).toBe('yes');
    for (const name of ['x-custom', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'remote-user']) expect(seen[name], name).toBeUndefined();
    // The client's `close` is about its own connection; the gateway's connection to NetBox stays kept alive.
    expect(seen.connection).toBe('keep-alive');
    // Naming the Host (or the body's framing) removes nothing: the request stays the one that was checked.
    expect(seen.host).toBe(new URL(stack.netbox.url).host);
    expect(JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)).headers['x-forwarded-host']).toBe('x');
  });

  it.each([
    ['gzip, chunked', 'POST', 501],
    [',chunked', 'POST', 501],
    ['chunked', 'DELETE', 411],
    ['chunked', 'OPTIONS', 411],
  ])('10: refuses Transfer-Encoding %s on %s with %i, nothing sent on', async (coding, method, status) => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(
      stack.gateway.url,
      `${method} /dcim/sites/1/ HTTP/1.1\r\nHost: x\r\nCookie: ${bobCookie()}\r\nTransfer-Encoding: ${coding}\r\n\r\n38\r\nGET /smuggled/ HTTP/1.1\r\nHost: x\r\nRemote-User: admin\r\n\r\n\r\n0\r\n\r\n`,
    );
    expect(answer.status).toBe(status);
    expect(netboxRequests()).toEqual([]);
  });

  it('10: header names with underscores never reach NetBox, where they would sit beside the real ones', async () => {
    stack.netbox.state.clearRequests();
    await sendRaw(stack.gateway.url, rawGet('/__double__/headers', ['Host: x', `Cookie: ${bobCookie()}`, 'X-Real_IP: 10.9.9.9', 'X-Forwarded_For: 10.9.9.9', 'X_Custom: 1']));
    const seen = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers;
    expect(Object.keys(seen).filter((name) => name.includes('_'))).toEqual([]);
    expect(seen['x-real-ip']).toBe('127.0.0.1');
  });

  it.each(['[:::]', '[1.2.3.4]', '[.]'])('1: refuses the Host %s with 400, not a 500', async (host) => {
    expect((await sendRaw(stack.gateway.url, rawGet('/static/x.css', [`Host: ${host}`]))).status).toBe(400);
  });

  it.each([
    'Upgrade: websocket\r\nConnection: Upgrade',
    'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__',
    'Upgrade: websocket',
  ])('10: refuses a protocol upgrade (%s)', async (upgrade) => {
    stack.netbox.state.clearRequests();
    const answer = await sendRaw(stack.gateway.url, `GET /dcim/ HTTP/1.1\r\nHost: x\r\nCookie: ${bobCookie()}\r\n${upgrade}\r\n\r\n`);
    expect(answer.status).toBe(400);
    expect(netboxRequests()).toEqual([]);
    await healthy();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('12: ignores the notice %s', async (notice) => {
    const page = await new CookieBrowser(stack.gateway.url).get(`/-/login?notice=${notice}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('id="notice"');
    expect(page.body).not.toContain('[object Object]');
    expect(page.body).not.toContain('function');
  });

  function bobJar(): Record<string, string> {
    const bobUser = stack.netbox.state.findUser('bob')!;
    const [session] = stack.netbox.state.sessionsOf(bobUser.id).slice(-1);
    const headers = stack.netbox.state.requestsTo('/__double__/headers')[0]!.headers;
    return { sessionid: session!.key, csrftoken: parseDjangoCookies(headers.cookie as string).csrftoken ?? '' };
  }
});

describe('the front door behind a TLS-terminating proxy', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback', ADMIN_ALLOW_FROM: '10.0.0.0/8, 2001:db8::/32' } });
  });
  afterAll(async () => {
    await stack.close();
  });
  const https = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'netbox.example.net' };

  it('9: sends HSTS over HTTPS only, on its own answers and on NetBox pages', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const page = await browser.get('/-/login', https);
    expect(page.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const redirect = await browser.get('/dcim/', https);
    expect(redirect.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect((await browser.get('/-/login')).headers.get('strict-transport-security')).toBeNull();
    const login = await browser.postForm('/-/login', { csrf_token: formToken(page.body), username: 'bob', password: STACK_USERS.bob!.password, next: '/' }, { ...https, Origin: 'https://netbox.example.net' });
    expect(login.status).toBe(303);
    const netboxPage = await browser.get('/dcim/', https);
    expect(pageUser(netboxPage.body)).toBe('bob');
    expect(netboxPage.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(netboxPage.headers.get('content-security-policy')).toBeNull();
  });

  it('7: the Origin check uses the forwarded scheme and host', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    const page = await browser.get('/-/login', https);
    const fields = { csrf_token: formToken(page.body), username: 'bob', password: STACK_USERS.bob!.password, next: '/' };
    expect((await browser.postForm('/-/login', fields, { ...https, Origin: 'http://netbox.example.net' })).status).toBe(403);
    expect((await browser.postForm('/-/login', fields, { ...https, Origin: 'https://netbox.example.net:8443' })).status).toBe(403);
    expect((await browser.postForm('/-/login', fields, { ...https, Origin: 'https://netbox.example.net:443' })).status).toBe(303);
  });

  it('1: refuses a forwarded host or scheme nobody could have meant', async () => {
    for (const headers of [{ 'X-Forwarded-Host': 'a b' }, { 'X-Forwarded-Host': '\xe9vil' }, { 'X-Forwarded-Proto': 'javascript' }]) {
      const lines = ['Host: x', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
      expect((await sendRaw(stack.gateway.url, rawGet('/static/netbox.css', lines))).status).toBe(400);
    }
    expect((await fetch(`${stack.gateway.url}/-/health`)).status).toBe(200);
  });

  it.each([
    ['10.1.2.3', true],
    ['2001:db8::7', true],
    ['203.0.113.9', false],
    ['127.0.0.1', false],
  ])('8: /-/ready gives the detail to %s: %s', async (client, detail) => {
    const response = await fetch(`${stack.gateway.url}/-/ready`, { headers: { 'X-Forwarded-For': client } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    if (detail) expect(body).toMatchObject({ status: 'ready', aaa: { method: 'radius' }, netbox: { ok: true } });
    else expect(body).toEqual({ status: 'ready' });
  });

  it('2: Connection cannot remove the forwarding headers a trusted proxy set', async () => {
    const answer = await sendRaw(
      stack.gateway.url,
      rawGet('/-/ready', ['Host: x', 'X-Forwarded-For: 203.0.113.9', 'X-Forwarded-Proto: https', 'Connection: X-Forwarded-For, X-Forwarded-Proto, X-Real-IP, Forwarded']),
    );
    expect(answer.text.endsWith('{"status":"ready"}')).toBe(true);
    expect(answer.headers.get('strict-transport-security')).toEqual(['max-age=31536000']);
  });

  it('8: /-/ready says only "unavailable" to others when nothing can sign in', async () => {
    stack.netbox.state.fail('unavailable');
    try {
      await new Promise((resolve) => setTimeout(resolve, 5_100));
      const response = await fetch(`${stack.gateway.url}/-/ready`, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable' });
    } finally {
      stack.netbox.state.fail('none');
    }
  });
});

describe('the front door: settings', () => {
  it('8: without ADMIN_ALLOW_FROM covering it, even a forged X-Forwarded-For gets no detail', async () => {
    const stack = await startStack({ env: { ADMIN_ALLOW_FROM: '10.0.0.0/8' } });
    try {
      const response = await fetch(`${stack.gateway.url}/-/ready`, { headers: { 'X-Forwarded-For': '10.1.2.3' } });
      expect(await response.json()).toEqual({ status: 'ready' });
    } finally {
      await stack.close();
    }
  });

  it('9: HSTS_MAX_AGE=0 sends no HSTS, another value is used as given', async () => {
    for (const [value, expected] of [['0', null], ['1d', 'max-age=86400']] as const) {
      const stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback', HSTS_MAX_AGE: value } });
      try {
        const page = await fetch(`${stack.gateway.url}/-/login`, { headers: { 'X-Forwarded-Proto': 'https' } });
        expect(page.headers.get('strict-transport-security')).toBe(expected);
      } finally {
        await stack.close();
      }
    }
  });

  it('11: MAX_CONNECTIONS turns away connections past the cap, and takes new ones when some close', async () => {
    const stack = await startStack({ env: { MAX_CONNECTIONS: '3' } });
    const sockets: Socket[] = [];
    try {
      const { port } = new URL(stack.gateway.url);
      const open = () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1', () => resolve(socket));
          socket.on('error', () => undefined);
          sockets.push(socket);
        });
      for (let i = 0; i < 3; i += 1) (await open()).write('GET / HTTP/1.1\r\n');
      const refused = await sendRaw(stack.gateway.url, rawGet('/-/health'), { timeoutMs: 2000 });
      expect(refused.closed).toBe(true);
      expect(refused.status).toBeUndefined();
      sockets.shift()!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await sendRaw(stack.gateway.url, rawGet('/-/health'))).status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await stack.close();
    }
  });

  it('11: cuts an idle half-open connection within the header timeout', async () => {
    const stack = await startStack({ env: { HEADERS_TIMEOUT: '1s' } });
    try {
      const started = Date.now();
      const silent = sendRaw(stack.gateway.url, '', { timeoutMs: 10_000 });
      const partial = sendRaw(stack.gateway.url, 'GET /dcim/ HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 10_000 });
      const [a, b] = await Promise.all([silent, partial]);
      const elapsed = Date.now() - started;
      expect(a.closed && b.closed).toBe(true);
      // One second of header timeout, checked every second: generous bounds for a busy machine.
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(6_000);
    } finally {
      await stack.close();
    }
  });

});

describe('the front door (remote-user mode)', () => {
  it('12: refuses a name the remote-user header cannot carry before asking AAA, and creates nobody', async () => {
    const stack = await startStack({
      env: { NETBOX_SESSION_MODE: 'remote-user' },
      netbox: { remoteAuth: { enabled: true, header: 'Remote-User', autoCreateUser: false } },
    });
    try {
      const before = stack.radius.requests.length;
      const response = await signIn(new CookieBrowser(stack.gateway.url), '用户', 'whatever-Passw0rd');
      expect(response.status).toBe(400);
      expect(response.body).toContain('Remote-User header, which cannot carry this name: it contains a character outside Latin-1');
      expect(stack.radius.requests.length).toBe(before);
      expect(stack.netbox.state.findUser('用户')).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});
