/**
 * A minimal cookie-keeping HTTP client for talking to the double (or through a proxy) like a browser would, minus
 * JavaScript: no redirects followed, so tests see every 302.
 */
export interface BrowserResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** Location, when there is one. */
  readonly location: string | undefined;
}

export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: string | URLSearchParams } = {}): Promise<BrowserResponse> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { ...(cookie ? { Cookie: cookie } : {}), ...init.headers },
      body: init.body,
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === '""') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, headers: response.headers, body: await response.text(), location: response.headers.get('location') ?? undefined };
  }

  get(path: string, headers?: Record<string, string>): Promise<BrowserResponse> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  /** A form post (`application/x-www-form-urlencoded`). */
  postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<BrowserResponse> {
    return this.request('POST', path, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
  }

  /** NetBox's login form, done the way a browser does it. Returns the POST's response. */
  async login(username: string, password: string, next = '/'): Promise<BrowserResponse> {
    const form = await this.get('/login/');
    return this.postForm('/login/', { csrfmiddlewaretoken: csrfFormToken(form.body), username, password, next });
  }
}

/** The hidden csrfmiddlewaretoken of a rendered form. */
export function csrfFormToken(html: string): string {
  const match = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no csrfmiddlewaretoken in page');
  return match[1];
}

/** The `window.CSRF_TOKEN` a NetBox page embeds for its JavaScript. */
export function pageCsrfToken(html: string): string {
  const match = /window\.CSRF_TOKEN = "([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no window.CSRF_TOKEN in page');
  return match[1];
}
