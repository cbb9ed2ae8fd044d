import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RadiusCode } from '../../src/aaa/radius/codec.js';
import { silentLogger } from '../../src/log.js';
import { startGateway, type RunningGateway } from '../../src/main.js';
import { SESSION_CACHE_MS } from '../../src/session/cache.js';
import { CookieBrowser } from '../netbox-double/browser.js';
import { pageUser, signIn } from '../support/gateway-form.js';
import { rawGet, sendRaw } from '../support/raw-http.js';
import { RedisTestServer } from '../support/redis-server.js';
import { startStack, STACK_USERS, type Stack, type StackOptions } from '../support/stack.js';
import { until } from '../support/until.js';

const COOKIE = 'nbgw_session';
let redis: RedisTestServer;
beforeAll(async () => {
  redis = await RedisTestServer.start();
});
afterAll(async () => {
  await redis.stop();
});

/** Two gateways on one Redis, one NetBox and one RADIUS server, as two replicas behind a load balancer. */
async function twoReplicas(options: StackOptions = {}): Promise<{ stack: Stack; a: RunningGateway; b: RunningGateway; close: () => Promise<void> }> {
  const prefix = redis.config().keyPrefix;
  const stack = await startStack({
    ...options,
    env: (ports) => ({
      SESSION_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      ...(typeof options.env === 'function' ? options.env(ports) : options.env),
    }),
  });
  const b = await startGateway(stack.config, silentLogger);
  return {
    stack,
    a: stack.gateway,
    b,
    close: async () => {
      await b.close();
      await stack.close();
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('two gateway replicas on one Redis', () => {
  let replicas: Awaited<ReturnType<typeof twoReplicas>> | undefined;
  afterEach(async () => {
    await replicas?.close();
    replicas = undefined;
  });

  it('a session made on A works on B; sign-out on B ends it on A', async () => {
    replicas = await twoReplicas();
    const { a, b } = replicas;
    const onA = new CookieBrowser(a.url);
    expect((await signIn(onA, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    const onB = new CookieBrowser(b.url);
    onB.cookies.set(COOKIE, onA.cookies.get(COOKIE)!);
    expect(pageUser((await onB.get('/')).body)).toBe('alice');
    expect(pageUser((await onA.get('/')).body)).toBe('alice');

    expect((await onB.get('/-/logout', { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(303);
    await pause(SESSION_CACHE_MS + 100);
    const after = await onA.get('/dcim/');
    expect(after.status).toBe(302);
    expect(after.location).toMatch(/^\/-\/login/);
  });

  it('idle expiry ends the session on both, with one accounting STOP and one NetBox logout', async () => {
    replicas = await twoReplicas({
      env: ({ radius }) => ({ RADIUS_ACCOUNTING: 'true', RADIUS_ACCOUNTING_SERVERS: `127.0.0.1:${radius}` }),
      adjust: (config) => ({ ...config, session: { ...config.session, idleTimeoutMs: 1_000, purgeIntervalMs: 150 } }),
    });
    const { stack, a, b } = replicas;
    const browser = new CookieBrowser(a.url);
    expect((await signIn(browser, 'bob', STACK_USERS.bob!.password)).status).toBe(303);
    const logoutsBefore = stack.netbox.state.requestsTo('/logout/').length;
    const stops = () => stack.radius.accountingRequests.filter((r) => r.packet.code === RadiusCode.AccountingRequest && Object.fromEntries(r.attributes)['Acct-Status-Type'] === '2');
    await until(() => (stops().length > 0 ? true : undefined), 'an accounting STOP', 5_000);
    // Both janitors have had many turns since: still one STOP, one NetBox logout.
    await pause(1_000);
    expect(stops()).toHaveLength(1);
    expect(stack.netbox.state.requestsTo('/logout/').length - logoutsBefore).toBe(1);
    for (const gateway of [a, b]) {
      const answer = await sendRaw(gateway.url, rawGet('/dcim/', ['Host: gateway.test', `Cookie: ${COOKIE}=${browser.cookies.get(COOKIE)!}`]));
      expect(answer.status).toBe(302);
    }
  });

  it('counts failed sign-ins made on either replica against the same user', async () => {
    replicas = await twoReplicas({ env: { REGULATION_MAX_RETRIES: '3' } });
    const { a, b } = replicas;
    for (const gateway of [a, b, a]) {
      const failed = await signIn(new CookieBrowser(gateway.url), 'alice', 'wrong-password');
      expect(failed.status, failed.body).toBe(401);
    }
    const banned = await signIn(new CookieBrowser(b.url), 'alice', STACK_USERS.alice!.password);
    expect(banned.status).toBe(429);
  });

  it('keeps a group an admin gave by hand when the next sign-in is on the other replica (the record is shared)', async () => {
    replicas = await twoReplicas();
    const { stack, a, b } = replicas;
    const browser = new CookieBrowser(a.url);
    expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    const alice = stack.netbox.state.findUser('alice')!;
    const granted = stack.netbox.state.groupNamesOf(alice).sort();
    alice.groupIds.add(stack.netbox.state.addGroup('hand-picked').id);
    expect((await signIn(new CookieBrowser(b.url), 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    expect(stack.netbox.state.groupNamesOf(stack.netbox.state.findUser('alice')!).sort()).toEqual([...granted, 'hand-picked'].sort());
  });

  it('skips a RADIUS server that replica A found dead on replica B too, without sending it anything', async () => {
    // A black hole: it takes every request and answers none.
    const hole = createSocket('udp4');
    let received = 0;
    hole.on('message', () => (received += 1));
    await new Promise<void>((resolve) => hole.bind(0, '127.0.0.1', resolve));
    try {
      replicas = await twoReplicas({ radiusServersBefore: [`127.0.0.1:${hole.address().port}`] });
      const { a, b } = replicas;
      expect((await signIn(new CookieBrowser(a.url), 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      const sentByA = received;
      expect(sentByA).toBeGreaterThan(0);
      expect((await signIn(new CookieBrowser(b.url), 'bob', STACK_USERS.bob!.password)).status).toBe(303);
      expect(received).toBe(sentByA);
      const ready = await sendRaw(b.url, rawGet('/-/ready', ['Host: gateway.test']));
      expect(ready.text).toContain('(seen by another gateway)');
    } finally {
      hole.close();
    }
  });

  it('answers 503 while Redis is away, says why on /-/ready, and signs in again by itself when it is back', async () => {
    replicas = await twoReplicas();
    const { a, b } = replicas;
    const browser = new CookieBrowser(a.url);
    expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    await redis.stop();
    try {
      await pause(SESSION_CACHE_MS + 100);
      const cookie = `Cookie: ${COOKIE}=${browser.cookies.get(COOKIE)!}`;
      const page = await sendRaw(a.url, rawGet('/dcim/', ['Host: gateway.test', cookie]));
      expect(page.status, page.text.slice(0, 600)).toBe(503);
      expect(page.text).toContain('Sign-in is unavailable for a moment');
      const api = await sendRaw(b.url, rawGet('/api/dcim/sites/', ['Host: gateway.test', cookie, 'Accept: application/json']));
      expect(api.status).toBe(503);
      expect(api.text).toContain('"detail":"The login gateway cannot reach its session store');
      const login = await sendRaw(b.url, rawGet('/-/login', ['Host: gateway.test']));
      expect(login.status).toBe(503);
      const ready = await sendRaw(a.url, rawGet('/-/ready', ['Host: gateway.test']));
      expect(ready.status).toBe(503);
      expect(ready.text).toMatch(/"redis":\{"ok":false,"error":"[^"]+"\}/);
    } finally {
      await redis.resume();
    }
    // No persistence in the test's Redis: the session is gone with it, and a new sign-in works on either replica.
    for (const gateway of [a, b]) {
      let status = 0;
      for (let i = 0; i < 50 && status !== 303; i += 1) {
        // Until the client has reconnected, the login page is the outage page, without a form to fill in.
        status = await signIn(new CookieBrowser(gateway.url), 'alice', STACK_USERS.alice!.password).then(
          (answer) => answer.status,
          () => 0,
        );
        if (status !== 303) await pause(100);
      }
      expect(status).toBe(303);
      expect((await sendRaw(gateway.url, rawGet('/-/ready', ['Host: gateway.test']))).status).toBe(200);
    }
  });
});
