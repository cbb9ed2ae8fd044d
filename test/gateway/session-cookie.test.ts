import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedCookieValue, verifiedSessionId } from '../../src/session/session-id.js';
import { CookieBrowser } from '../netbox-double/browser.js';
import { formToken, pageUser, signIn } from '../support/gateway-form.js';
import { rawGet, sendRaw, type RawAnswer } from '../support/raw-http.js';
import { startStack, STACK_USERS, type Stack } from '../support/stack.js';

const COOKIE = 'nbgw_session';

/** The session ID in the answer's Set-Cookie for the gateway's cookie, checked against the stack's secret. */
function issuedSid(answer: RawAnswer, secret: string): string | undefined {
  const line = answer.headers.get('set-cookie')?.find((each) => each.startsWith(`${COOKIE}=`));
  if (line === undefined) return undefined;
  return verifiedSessionId(line.slice(COOKIE.length + 1, line.indexOf(';')), secret);
}

describe('the gateway session cookie, as a client can bend it', () => {
  let stack: Stack;
  let secret: string;
  let signedIn: string;
  beforeAll(async () => {
    stack = await startStack();
    secret = stack.config.session.secret;
    const browser = new CookieBrowser(stack.gateway.url);
    expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    signedIn = browser.cookies.get(COOKIE)!;
    expect(verifiedSessionId(signedIn, secret)).toBeDefined();
  });
  afterAll(async () => {
    await stack.close();
  });

  const page = (cookieHeaders: readonly string[]) => sendRaw(stack.gateway.url, rawGet('/dcim/devices/', ['Host: gateway.test', ...cookieHeaders]));

  it('lets the signed-in cookie through as sent, quoted, or among other cookies, and sets no cookie on a page view', async () => {
    for (const header of [`Cookie: ${COOKIE}=${signedIn}`, `Cookie: ${COOKIE}="${signedIn}"`, `Cookie: a=1;${COOKIE}=${signedIn}; b=2`, `Cookie:   ${COOKIE} = ${signedIn}  `]) {
      const answer = await page([header]);
      expect(answer.status, header).toBe(200);
      expect(pageUser(answer.text), header).toBe('alice');
      expect(answer.headers.get('set-cookie'), header).toBeUndefined();
    }
  });

  it('treats a cookie it did not sign, or signed for another ID, as no session at all', async () => {
    const sid = verifiedSessionId(signedIn, secret)!;
    const mac = decodeURIComponent(signedIn).slice(sid.length + 3);
    const forged = [
      `${COOKIE}=${signedCookieValue(sid, 'not-the-gateway-secret-0123456789')}`,
      `${COOKIE}=${encodeURIComponent(`s:${sid.slice(0, -1)}A.${mac}`)}`,
      `${COOKIE}=${encodeURIComponent(`s:${sid}.${mac.slice(0, -2)}`)}`,
      `${COOKIE}=${sid}`,
      `${COOKIE}=s%3A${sid}.%ZZ`,
      `${COOKIE}=${'A'.repeat(6000)}`,
      `x${COOKIE}=${signedIn}`,
      `${COOKIE}_x=${signedIn}`,
      // The first value of the name counts, as in express-session: a planted cookie cannot ride on a real one.
      `${COOKIE}=forged; ${COOKIE}=${signedIn}`,
    ];
    for (const cookie of forged) {
      const answer = await page([`Cookie: ${cookie}`]);
      expect(answer.status, cookie).toBe(302);
      expect(answer.headers.get('location')?.[0], cookie).toMatch(/^\/-\/login\?next=/);
    }
    expect((await page([`Cookie: ${COOKIE}=${signedIn}`])).status).toBe(200);
  });

  it('never adopts a session ID the client chose, even one signed with the real secret, but issues its own', async () => {
    const chosen = 'attacker-chosen-session-id-00001';
    const answer = await sendRaw(stack.gateway.url, rawGet('/-/login', ['Host: gateway.test', `Cookie: ${COOKIE}=${signedCookieValue(chosen, secret)}`]));
    expect(answer.status).toBe(200);
    const issued = issuedSid(answer, secret);
    expect(issued).toBeDefined();
    expect(issued).not.toBe(chosen);
    expect(await stack.gateway.sessions.get(chosen)).toBeUndefined();
    expect(await stack.gateway.sessions.get(issued!)).toMatchObject({ csrfToken: expect.any(String) });
  });

  it('saves a new session before the answer ends, and writes no session for a visitor who only gets redirected', async () => {
    const before = await stack.gateway.sessions.count();
    const redirected = await page([]);
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('set-cookie')).toBeUndefined();
    expect(await stack.gateway.sessions.count()).toBe(before);

    const form = await sendRaw(stack.gateway.url, rawGet('/-/login', ['Host: gateway.test']));
    const sid = issuedSid(form, secret);
    expect(sid).toBeDefined();
    expect(form.headers.get('set-cookie')?.[0]).toMatch(new RegExp(`^${COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Lax$`));
    expect(await stack.gateway.sessions.get(sid!)).toMatchObject({ csrfToken: expect.any(String) });
  });

  it('rotates at sign-in and ends the old ID, also when the browser was signed in already', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const first = browser.cookies.get(COOKIE)!;
    // A signed-in browser's form token, from the page that asks before signing out.
    const csrf = formToken((await browser.get('/-/logout')).body);
    const again = await browser.postForm('/-/login', { csrf_token: csrf, next: '/', username: 'bob', password: STACK_USERS.bob!.password });
    expect(again.status).toBe(303);
    const second = browser.cookies.get(COOKIE)!;
    expect(verifiedSessionId(second, secret)).not.toBe(verifiedSessionId(first, secret));
    expect(await stack.gateway.sessions.get(verifiedSessionId(first, secret)!)).toBeUndefined();
    expect((await page([`Cookie: ${COOKIE}=${first}`])).status).toBe(302);
    expect(pageUser((await page([`Cookie: ${COOKIE}=${second}`])).text)).toBe('bob');
  });

  it('clears the cookie at sign-out, and the old value opens nothing afterwards', async () => {
    const browser = new CookieBrowser(stack.gateway.url);
    await signIn(browser, 'bob', STACK_USERS.bob!.password);
    const cookie = browser.cookies.get(COOKIE)!;
    const out = await sendRaw(stack.gateway.url, rawGet('/-/logout', ['Host: gateway.test', `Cookie: ${COOKIE}=${cookie}`, 'Sec-Fetch-Site: same-origin']));
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toEqual([`${COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax`]);
    expect((await page([`Cookie: ${COOKIE}=${cookie}`])).status).toBe(302);
  });

  it('gives a sign-in that goes on to a challenge a new ID and form token, so a session planted before it signs in nobody', async () => {
    // The attacker's own session, planted in the victim's browser (from a sibling host, or over plain HTTP).
    const attacker = new CookieBrowser(stack.gateway.url);
    const attackerToken = formToken((await attacker.get('/-/login')).body);
    const planted = attacker.cookies.get(COOKIE)!;
    const victim = new CookieBrowser(stack.gateway.url);
    victim.cookies.set(COOKIE, planted);

    const challenge = await victim.postForm('/-/login', { csrf_token: attackerToken, next: '/', username: 'otto', password: STACK_USERS.otto!.password });
    expect(challenge.status).toBe(200);
    expect(challenge.body).toContain('name="challenge_answer"');
    expect(victim.cookies.get(COOKIE)).not.toBe(planted);
    expect(formToken(challenge.body)).not.toBe(attackerToken);
    expect(await stack.gateway.sessions.get(verifiedSessionId(planted, secret)!)).toBeUndefined();

    // The attacker answers first, on the planted session: it holds no challenge, and no cookie comes back signed in.
    const hijack = await attacker.postForm('/-/login', { csrf_token: attackerToken, next: '/', challenge_answer: '123456' });
    expect(hijack.status).toBe(403);
    expect(pageUser((await attacker.get('/')).body)).toBeUndefined();

    const second = await victim.postForm('/-/login', { csrf_token: formToken(challenge.body), next: '/', challenge_answer: '123456' });
    const done = await victim.postForm('/-/login', { csrf_token: formToken(second.body), next: '/', challenge_answer: 'yes' });
    expect(done.status).toBe(303);
    expect(pageUser((await victim.get('/')).body)).toBe('otto');
  });
});
