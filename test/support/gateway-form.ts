import type { BrowserResponse, CookieBrowser } from '../netbox-double/browser.js';

/** The hidden CSRF token of the gateway's login form. */
export function formToken(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no csrf_token in the login page');
  return match[1];
}

/** The gateway's login form as a browser without JavaScript submits it. */
export async function signIn(browser: CookieBrowser, username: string, password: string, next = '/'): Promise<BrowserResponse> {
  const page = await browser.get(`/-/login?next=${encodeURIComponent(next)}`);
  return browser.postForm('/-/login', { csrf_token: formToken(page.body), next, username, password });
}

/** The NetBox double's page: who NetBox thinks is logged in, and in which groups (sorted). */
export function pageUser(html: string): string | undefined {
  return /<span id="netbox-user">([^<]*)<\/span>/.exec(html)?.[1];
}

export function pageGroups(html: string): string[] {
  const list = /<ul id="netbox-groups">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1] ?? '').sort();
}
