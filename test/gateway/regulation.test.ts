import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieBrowser, type BrowserResponse } from '../netbox-double/browser.js';
import { formToken } from '../support/gateway-form.js';
import { recorder } from '../support/log-recorder.js';
import { startStack, STACK_USERS, type Stack } from '../support/stack.js';

const BANNED = 'Too many failed sign-in attempts. Please try again later.';
const password = (user: string) => STACK_USERS[user]!.password;

/** One sign-in from a fresh browser; `from` is sent as X-Forwarded-For. */
async function attempt(stack: Stack, username: string, pass: string, from?: string): Promise<BrowserResponse> {
  const headers: Record<string, string> = from === undefined ? {} : { 'X-Forwarded-For': from };
  const browser = new CookieBrowser(stack.gateway.url);
  const page = await browser.get('/-/login', headers);
  return browser.postForm('/-/login', { csrf_token: formToken(page.body), next: '/', username, password: pass }, headers);
}

function answer(browser: CookieBrowser, page: BrowserResponse, value: string, from: string): Promise<BrowserResponse> {
  return browser.postForm('/-/login', { csrf_token: formToken(page.body), next: '/', challenge_answer: value }, { 'X-Forwarded-For': from });
}

/** How many Access-Requests the RADIUS server received for this user name. */
function asked(stack: Stack, username: string): number {
  return stack.radius.requests.filter((r) => r.attributes.some(([n, v]) => n === 'User-Name' && v === username)).length;
}

const errorOf = (html: string) => /<p class="error"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
/** The page without its per-session form token, for comparing two answers. */
const withoutToken = (html: string) => html.replace(/name="csrf_token" value="[^"]+"/, 'name="csrf_token" value=""');
/** The ban answer, for a ban of 15 minutes that began moments ago (how many moments depends on the machine's load). */
function expectFreshBan(response: BrowserResponse): void {
  expect(response.status).toBe(429);
  const seconds = Number(response.headers.get('retry-after'));
  expect(seconds).toBeGreaterThan(890);
  expect(seconds).toBeLessThanOrEqual(900);
  expect(errorOf(response.body)).toBe(BANNED);
}
const banLines = (lines: string[]) => lines.filter((line) => line.startsWith('warn too many failed sign-ins: banned '));

describe('login regulation through the gateway', () => {
  const log = recorder();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback', REGULATION_MAX_RETRIES_PER_IP: '8' }, logger: log });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers the 6th attempt after 5 wrong passwords with 429 and Retry-After, even with the right password, without asking RADIUS', async () => {
    for (let i = 1; i <= 5; i += 1) {
      const wrong = await attempt(stack, 'alice', `wrong-${i}`, '192.0.2.1');
      expect(wrong.status).toBe(401);
    }
    expect(asked(stack, 'alice')).toBe(5);
    for (const from of ['192.0.2.1', '192.0.2.2']) {
      const right = await attempt(stack, 'alice', password('alice'), from);
      expectFreshBan(right);
      expect(right.body).not.toContain(password('alice'));
    }
    expect(asked(stack, 'alice')).toBe(5);
    // The name NetBox would sign in, in any case: ALICE is the same account.
    expect((await attempt(stack, 'ALICE', password('alice'), '192.0.2.3')).status).toBe(429);
    expect(stack.netbox.state.findUser('alice')).toBeUndefined();
    const lines = banLines(log.lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn too many failed sign-ins: banned \{"subject":"user","username":"alice","failures":5,"until":"[\d-]+T[\d:.]+Z"\}$/);
  });

  it('gives an existing user, a user that does not exist and a banned address the same 429 page', async () => {
    for (let i = 0; i < 5; i += 1) await attempt(stack, 'bob', 'wrong', '192.0.2.10');
    for (let i = 0; i < 5; i += 1) await attempt(stack, 'mallory', 'wrong', '192.0.2.11');
    for (let i = 0; i < 8; i += 1) await attempt(stack, `guess${i}`, 'wrong', '192.0.2.12');
    const before = stack.radius.requests.length;
    const existing = await attempt(stack, 'bob', password('bob'), '192.0.2.13');
    const unknown = await attempt(stack, 'mallory', 'whatever', '192.0.2.13');
    const address = await attempt(stack, 'nobody', password('nobody'), '192.0.2.12');
    expect(stack.radius.requests.length).toBe(before);
    for (const response of [existing, unknown, address]) expectFreshBan(response);
    expect(withoutToken(unknown.body)).toBe(withoutToken(existing.body));
    expect(withoutToken(address.body)).toBe(withoutToken(existing.body));
    expect(banLines(log.lines).filter((line) => /"username":"(bob|mallory)"|"address":"192\.0\.2\.12"/.test(line))).toHaveLength(3);
  });

  it('counts a wrong challenge answer, and checks the ban before sending an answer', async () => {
    const from = '192.0.2.20';
    const pending = new CookieBrowser(stack.gateway.url);
    const page = await pending.get('/-/login', { 'X-Forwarded-For': from });
    const prompt = await pending.postForm(
      '/-/login',
      { csrf_token: formToken(page.body), next: '/', username: 'otto', password: password('otto') },
      { 'X-Forwarded-For': from },
    );
    expect(prompt.status).toBe(200);
    expect(prompt.body).toContain('name="challenge_answer"');
    // Five wrong one-time codes from other browsers and addresses ban otto.
    for (let i = 0; i < 5; i += 1) {
      const browser = new CookieBrowser(stack.gateway.url);
      const first = await browser.postForm(
        '/-/login',
        { csrf_token: formToken((await browser.get('/-/login')).body), next: '/', username: 'otto', password: password('otto') },
        { 'X-Forwarded-For': `192.0.2.${30 + i}` },
      );
      expect(first.status).toBe(200);
      expect((await answer(browser, first, '000000', `192.0.2.${30 + i}`)).status).toBe(401);
    }
    const before = asked(stack, 'otto');
    const right = await answer(pending, prompt, '123456', from);
    expectFreshBan(right);
    expect((await attempt(stack, 'otto', password('otto'), from)).status).toBe(429);
    expect(asked(stack, 'otto')).toBe(before);
  });
});

describe('login regulation per client address', () => {
  it('follows the address a trusted proxy forwards, across user names, and groups an IPv6 /64', async () => {
    const log = recorder();
    const stack = await startStack({ env: { TRUSTED_PROXIES: 'loopback', REGULATION_MAX_RETRIES_PER_IP: '3' }, logger: log });
    try {
      // Names NetBox cannot have are refused before any AAA server is asked: not counted.
      for (let i = 0; i < 5; i += 1) expect((await attempt(stack, `not a name ${i}`, 'x', '198.51.100.7')).status).toBe(400);
      for (const name of ['u1', 'u2', 'u3']) expect((await attempt(stack, name, 'wrong', '198.51.100.7')).status).toBe(401);
      expect((await attempt(stack, 'bob', password('bob'), '198.51.100.7')).status).toBe(429);
      expect(asked(stack, 'bob')).toBe(0);
      expect((await attempt(stack, 'bob', password('bob'), '198.51.100.8')).status).toBe(303);

      for (const host of ['a', 'b', 'c']) expect((await attempt(stack, `v${host}`, 'wrong', `2001:db8:1:2::${host}`)).status).toBe(401);
      expect((await attempt(stack, 'nobody', password('nobody'), '2001:db8:1:2:ffff::1')).status).toBe(429);
      expect((await attempt(stack, 'nobody', password('nobody'), '2001:db8:1:3::1')).status).toBe(303);

      expect(banLines(log.lines).map((line) => /"address":"([^"]+)"/.exec(line)?.[1])).toEqual(['198.51.100.7', '2001:db8:1:2::/64']);
    } finally {
      await stack.close();
    }
  });

  it('without TRUSTED_PROXIES, counts the TCP peer: a forged X-Forwarded-For neither evades a ban nor frames another address', async () => {
    const log = recorder();
    const stack = await startStack({ env: { REGULATION_MAX_RETRIES_PER_IP: '3' }, logger: log });
    try {
      for (const forged of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await attempt(stack, `x${forged}`, 'wrong', forged);
      expect((await attempt(stack, 'bob', password('bob'), '203.0.113.4')).status).toBe(429);
      expect(asked(stack, 'bob')).toBe(0);
      const lines = banLines(log.lines);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('{"subject":"address","address":"127.0.0.1","failures":3,');
      expect(log.lines.join('\n')).not.toContain('"address":"203.0.113.');
    } finally {
      await stack.close();
    }
  });
});

describe('login regulation over time and settings', () => {
  it('keeps a ban across a restart on the same SQLite file', async () => {
    const env = { SESSION_STORE: 'sqlite', SESSION_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'nbgw-regulation-')), 'sessions.sqlite') };
    const first = await startStack({ env });
    try {
      for (let i = 0; i < 5; i += 1) expect((await attempt(first, 'alice', 'wrong')).status).toBe(401);
    } finally {
      await first.close();
    }
    const second = await startStack({ env });
    try {
      const right = await attempt(second, 'alice', password('alice'));
      expectFreshBan(right);
      expect(second.radius.requests).toHaveLength(0);
    } finally {
      await second.close();
    }
  });

  it('lets the user in again once the ban time has passed', async () => {
    const stack = await startStack({ env: { REGULATION_BAN_TIME: '1s' } });
    try {
      for (let i = 0; i < 5; i += 1) await attempt(stack, 'alice', 'wrong');
      const banned = await attempt(stack, 'alice', password('alice'));
      expect(banned.status).toBe(429);
      expect(banned.headers.get('retry-after')).toBe('1');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await attempt(stack, 'alice', password('alice'))).status).toBe(303);
      expect(asked(stack, 'alice')).toBe(6);
    } finally {
      await stack.close();
    }
  });

  it('never bans with REGULATION_MAX_RETRIES=0', async () => {
    const log = recorder();
    const stack = await startStack({ env: { REGULATION_MAX_RETRIES: '0' }, logger: log });
    try {
      // More than the default 20 per address, all from one address and one name.
      for (let i = 0; i < 25; i += 1) expect((await attempt(stack, 'alice', 'wrong')).status).toBe(401);
      expect((await attempt(stack, 'alice', password('alice'))).status).toBe(303);
      expect(asked(stack, 'alice')).toBe(26);
      expect(banLines(log.lines)).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
