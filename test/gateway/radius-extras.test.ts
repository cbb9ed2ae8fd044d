import { describe, expect, it, vi } from 'vitest';
import { RadiusCode } from '../../src/aaa/radius/codec.js';
import { until } from '../support/until.js';
import { CookieBrowser, type BrowserResponse } from '../netbox-double/browser.js';
import { formToken, pageGroups, signIn } from '../support/gateway-form.js';
import { startStack, STACK_USERS } from '../support/stack.js';

function answer(browser: CookieBrowser, page: BrowserResponse, value: string): Promise<BrowserResponse> {
  return browser.postForm('/-/login', { csrf_token: formToken(page.body), next: '/dcim/', challenge_answer: value });
}

describe('RADIUS Access-Challenge through the login page', () => {
  it('asks each question the server asks, sends the answers back with its State, and signs in', async () => {
    const stack = await startStack();
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      const first = await signIn(browser, 'otto', STACK_USERS.otto!.password, '/dcim/');
      expect(first.status).toBe(200);
      // The server's prompt is text on the page, never markup.
      expect(first.body).toContain('Enter the 6-digit code from your token &lt;b&gt;now&lt;/b&gt;');
      expect(first.body).toContain('name="challenge_answer"');
      expect(first.body).toContain('autocomplete="one-time-code"');
      expect(first.body).not.toContain('name="password"');

      const second = await answer(browser, first, '123456');
      expect(second.status).toBe(200);
      expect(second.body).toContain('Type &#34;yes&#34; to confirm');
      const done = await answer(browser, second, 'yes');
      expect(done.status).toBe(303);
      expect(done.location).toBe('/dcim/');
      expect(pageGroups((await browser.get('/dcim/')).body)).toEqual(['netbox-ops']);

      // Each answer went back with the State of the challenge it answers, to the same server.
      const requests = stack.radius.requests.filter((r) => r.attributes.some(([n, v]) => n === 'User-Name' && v === 'otto'));
      expect(requests).toHaveLength(3);
      expect(requests[0]!.attributes.some(([n]) => n === 'State')).toBe(false);
      expect(requests[1]!.attributes.some(([n]) => n === 'State')).toBe(true);
      expect(requests[2]!.attributes.some(([n]) => n === 'State')).toBe(true);
    } finally {
      await stack.close();
    }
  });

  it('fails a wrong answer like a wrong password, and refuses an answer with no challenge pending', async () => {
    const stack = await startStack();
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      const first = await signIn(browser, 'otto', STACK_USERS.otto!.password);
      const wrong = await answer(browser, first, '000000');
      expect(wrong.status).toBe(401);
      expect(wrong.body).toContain('wrong user name or password');
      expect(wrong.body).toContain('name="username"');
      // The pending challenge is gone: replaying the form cannot continue it.
      const replay = await answer(browser, first, '123456');
      expect(replay.status).toBe(400);
      expect(replay.body).toContain('Please start again');
      expect(stack.netbox.state.findUser('otto')).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});

describe('RADIUS Access-Challenge answered late', () => {
  const CHALLENGE_MAX_AGE_MS = 5 * 60_000;

  it('takes an answer just inside five minutes and refuses one just past, without asking the RADIUS server', async () => {
    const stack = await startStack();
    // Only Date: sockets, RADIUS retransmissions and timeouts keep running on real timers (the gateway is in-process).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      const ottoRequests = () => stack.radius.requests.filter((r) => r.attributes.some(([n, v]) => n === 'User-Name' && v === 'otto'));
      const first = await signIn(browser, 'otto', STACK_USERS.otto!.password, '/dcim/');
      expect(first.body).toContain('name="challenge_answer"');

      vi.setSystemTime(Date.now() + CHALLENGE_MAX_AGE_MS - 1000);
      const second = await answer(browser, first, '123456');
      expect(second.status).toBe(200);
      expect(second.body).toContain('Type &#34;yes&#34; to confirm');
      expect(ottoRequests()).toHaveLength(2);

      vi.setSystemTime(Date.now() + CHALLENGE_MAX_AGE_MS + 1000);
      const late = await answer(browser, second, 'yes');
      expect(late.status).toBe(400);
      expect(late.body).toContain('Your sign-in took too long. Please start again.');
      expect(late.body).toContain('name="username"');
      expect(ottoRequests()).toHaveLength(2);
      expect(stack.netbox.state.findUser('otto')).toBeUndefined();
    } finally {
      vi.useRealTimers();
      await stack.close();
    }
  });
});

describe('RADIUS accounting', () => {
  it('sends Start at sign-in and Stop at sign-out with one Acct-Session-Id', async () => {
    const stack = await startStack({ env: ({ radius }) => ({ RADIUS_ACCOUNTING: 'true', RADIUS_ACCOUNTING_SERVERS: `127.0.0.1:${radius}` }) });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'bob', STACK_USERS.bob!.password)).status).toBe(303);
      await browser.get('/-/logout', { 'Sec-Fetch-Site': 'same-origin' });
      const records = await until(() => {
        const found = stack.radius.accountingRequests.filter((r) => r.packet.code === RadiusCode.AccountingRequest);
        return found.length >= 2 ? found : undefined;
      }, 'two Accounting-Requests');
      const attributes = records.map((r) => Object.fromEntries(r.attributes));
      expect(attributes[0]).toMatchObject({ 'Acct-Status-Type': '1', 'User-Name': 'bob', 'Calling-Station-Id': '127.0.0.1' });
      expect(attributes[1]).toMatchObject({ 'Acct-Status-Type': '2', 'User-Name': 'bob', 'Acct-Session-Id': attributes[0]!['Acct-Session-Id'] });
    } finally {
      await stack.close();
    }
  });
});
