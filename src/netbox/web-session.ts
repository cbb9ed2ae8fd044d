import type { Logger } from '../log.js';
import { describeFetchError, type NetboxClient } from './client.js';
import { applySetCookies, cookieHeader } from './cookies.js';
import { KeyedLock } from './keyed-lock.js';
import { NetboxUnavailable, type NetboxCookieJar, type NetboxUser, type WebSessionOpener } from './types.js';

// These requests go straight from the gateway to NetBox, so they carry no X-Forwarded-* headers: NetBox sees its
// own address as the host, which is what the Referer below must match for Django's CSRF check. The cookies NetBox
// sets are host-only with Path=/ and not bound to any host, so the proxy can present them later under any
// public host name.

export interface PasswordWebSessionOptions {
  /** NetBox's address, BASE_PATH included. */
  readonly baseUrl: URL;
  /** Used only to repair a password NetBox does not accept. */
  readonly client: NetboxClient;
  readonly passwordFor: (username: string) => string;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export interface RemoteUserWebSessionOptions {
  readonly baseUrl: URL;
  /** The HTTP header NetBox reads (REMOTE_AUTH_HEADER 'HTTP_REMOTE_USER' is `Remote-User`). */
  readonly header: string;
  /** NetBox's REMOTE_AUTH_GROUP_HEADER as a header name; default `Remote-User-Group` ('HTTP_REMOTE_USER_GROUP'). */
  readonly groupHeader?: string;
  /** NetBox's REMOTE_AUTH_GROUP_SEPARATOR; default `|`. */
  readonly groupSeparator?: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * A name the remote-user headers cannot carry unchanged, so NetBox would see another user or other groups: a
 * character outside Latin-1 (HTTP header values are bytes, which NetBox decodes as Latin-1), a control character,
 * or a group name containing the group separator (NetBox would split it into two groups).
 */
export class RemoteUserHeaderError extends NetboxUnavailable {
  constructor(
    readonly header: string,
    readonly value: string,
    reason: string,
  ) {
    super(`cannot send ${JSON.stringify(value)} in the ${header} header: ${reason}`);
    this.name = 'RemoteUserHeaderError';
  }
}

/** The value of NetBox's user header for `username`; throws RemoteUserHeaderError when it cannot be sent as is. */
export function remoteUserHeaderValue(header: string, username: string): string {
  checkHeaderText(header, username);
  return username;
}

/**
 * The value of NetBox's group header for `groups`, joined as its RemoteUserMiddleware splits it
 * (`value.split(REMOTE_AUTH_GROUP_SEPARATOR)`, nothing trimmed); throws RemoteUserHeaderError for a group that
 * cannot be sent as is.
 */
export function remoteUserGroupHeaderValue(header: string, groups: readonly string[], separator: string): string {
  for (const group of groups) {
    checkHeaderText(header, group);
    if (group.includes(separator)) {
      throw new RemoteUserHeaderError(header, group, `the group name contains the separator ${JSON.stringify(separator)}`);
    }
  }
  return groups.join(separator);
}

function checkHeaderText(header: string, value: string): void {
  const problem = headerTextProblem(value);
  if (problem !== undefined) throw new RemoteUserHeaderError(header, value, problem);
}

function headerTextProblem(value: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'it contains a control character';
  if (/[^\u0000-\u00ff]/.test(value)) return 'it contains a character outside Latin-1';
  return undefined;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly setCookies: readonly string[];
}

/** Plain HTTP to NetBox's web UI: no redirects followed, every failure a NetboxUnavailable. */
class WebUi {
  readonly base: URL;

  constructor(
    baseUrl: URL,
    private readonly timeoutMs: number,
  ) {
    this.base = new URL(baseUrl.href);
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/';
    this.base.search = '';
    this.base.hash = '';
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }

  async send(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body?: URLSearchParams): Promise<Answer> {
    try {
      const response = await fetch(url, {
        method,
        headers: { Accept: 'text/html', ...headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: response.status, body: await response.text(), setCookies: response.headers.getSetCookie() };
    } catch (error) {
      throw new NetboxUnavailable(`NetBox ${method} ${url.pathname} failed: ${describeFetchError(error, this.timeoutMs)}`, undefined, {
        cause: error,
      });
    }
  }

  /** NetBox's LogoutView (GET only). Best effort by contract. */
  async logout(cookies: NetboxCookieJar, logger: Logger): Promise<void> {
    if (Object.keys(cookies).length === 0) return;
    try {
      const answer = await this.send('GET', this.url('logout/'), { Cookie: cookieHeader(cookies) });
      if (answer.status >= 400) logger.warn({ status: answer.status }, 'NetBox logout answered with an error');
    } catch (error) {
      logger.warn({ error: (error as Error).message }, 'NetBox logout failed');
    }
  }
}

/**
 * Password mode: the gateway signs in on NetBox's own login form with the gateway-managed password, exactly as a
 * browser would, and keeps the resulting cookies.
 */
export class PasswordWebSession implements WebSessionOpener {
  readonly #ui: WebUi;
  readonly #repairs = new KeyedLock();

  constructor(private readonly options: PasswordWebSessionOptions) {
    this.#ui = new WebUi(options.baseUrl, options.timeoutMs);
  }

  /** NetBox's login form takes any name NetBox can store. */
  usernameProblem(): undefined {
    return undefined;
  }

  async open(user: NetboxUser): Promise<NetboxCookieJar> {
    const password = this.options.passwordFor(user.username);
    // The password is left alone whenever it works: setting it again would end this user's other NetBox sessions.
    const jar = await this.#login(user.username, password);
    if (jar) return jar;
    return this.#repairs.run(user.username.toLowerCase(), async () => {
      // A concurrent open() of the same user may have repaired the password while this one waited.
      const meanwhile = await this.#login(user.username, password);
      if (meanwhile) return meanwhile;
      // The account predates the gateway (a local password), or the password secret was rotated.
      this.options.logger.warn({ username: user.username, netboxUserId: user.id }, 'NetBox refused the gateway-managed password; resetting it');
      await this.options.client.updateUser(user.id, { password });
      const repaired = await this.#login(user.username, password);
      if (repaired) return repaired;
      throw new NetboxUnavailable(
        `NetBox's login form refused ${user.username} even after the password was reset over REST: ` +
          'is the user active, and does NetBox authenticate its login form against its own users (no LDAP/SSO-only setup)?',
      );
    });
  }

  close(cookies: NetboxCookieJar): Promise<void> {
    return this.#ui.logout(cookies, this.options.logger);
  }

  /** The cookies of a new NetBox session, or undefined when NetBox shows the form again (wrong credentials). */
  async #login(username: string, password: string): Promise<NetboxCookieJar | undefined> {
    const loginUrl = this.#ui.url('login/');
    const form = await this.#ui.send('GET', loginUrl, {});
    if (form.status !== 200) throw new NetboxUnavailable(`NetBox GET ${loginUrl.pathname} answered ${form.status}`, form.status);
    const csrfCookies = applySetCookies({}, form.setCookies);
    const csrfToken = hiddenInput(form.body, 'csrfmiddlewaretoken');
    if (csrfToken === undefined || Object.keys(csrfCookies).length === 0) {
      throw new NetboxUnavailable(`NetBox GET ${loginUrl.pathname} did not offer a login form with a CSRF token`);
    }
    const answer = await this.#ui.send(
      'POST',
      loginUrl,
      {
        Cookie: cookieHeader(csrfCookies),
        'Content-Type': 'application/x-www-form-urlencoded',
        // Django checks the Referer on HTTPS; it must name NetBox's own origin.
        Referer: loginUrl.href,
      },
      new URLSearchParams({ csrfmiddlewaretoken: csrfToken, username, password, next: this.#ui.base.pathname }),
    );
    // NetBox redirects only after a successful login, and re-renders the form (200) after a failed one.
    if (answer.status === 200) return undefined;
    if (isRedirect(answer.status) && answer.setCookies.length > 0) return applySetCookies(csrfCookies, answer.setCookies);
    const hint =
      answer.status === 403
        ? ' (CSRF check failed: NETBOX_URL must be the address NetBox itself is served at, scheme included)'
        : '';
    throw new NetboxUnavailable(`NetBox POST ${loginUrl.pathname} answered ${answer.status}${hint}`, answer.status);
  }
}

/**
 * Remote-user mode: NetBox's RemoteUserMiddleware logs in whoever the header names, on any request. The login page
 * is the cheapest request to carry it: an authenticated visitor is only redirected, no page is rendered.
 *
 * The user's groups go along in the group header. With REMOTE_AUTH_GROUP_SYNC_ENABLED, NetBox's RemoteUserBackend
 * sets the user's groups to exactly that list and derives `is_superuser` (and up to 4.4 `is_staff`) from
 * REMOTE_AUTH_SUPERUSER_GROUPS / REMOTE_AUTH_STAFF_GROUPS: the only way to make someone a real superuser without
 * NetBox's UI or CLI. The list sent is the one provisioning left in NetBox, so NetBox's replace-only sync agrees
 * with the gateway's sync mode (hand-assigned groups kept by `managed` or `add` are sent too). NetBox syncs only
 * when it starts a session, which every open() does.
 */
export class RemoteUserWebSession implements WebSessionOpener {
  readonly #ui: WebUi;
  readonly #groupHeader: string;
  readonly #groupSeparator: string;

  constructor(private readonly options: RemoteUserWebSessionOptions) {
    this.#ui = new WebUi(options.baseUrl, options.timeoutMs);
    this.#groupHeader = options.groupHeader ?? 'Remote-User-Group';
    this.#groupSeparator = options.groupSeparator ?? '|';
    if (this.#groupSeparator === '') throw new Error('the remote-user group separator must not be empty');
  }

  usernameProblem(username: string): string | undefined {
    const problem = headerTextProblem(username);
    return problem === undefined ? undefined : `NetBox is told who signs in by the ${this.options.header} header, which cannot carry this name: ${problem}`;
  }

  async open(user: NetboxUser): Promise<NetboxCookieJar> {
    const url = this.#ui.url('login/');
    url.searchParams.set('next', this.#ui.base.pathname);
    const headers = {
      // The username as NetBox stores it: its RemoteUserBackend looks users up case-sensitively.
      [this.options.header]: remoteUserHeaderValue(this.options.header, user.username),
      [this.#groupHeader]: remoteUserGroupHeaderValue(this.#groupHeader, user.groups, this.#groupSeparator),
    };
    const answer = await this.#ui.send('GET', url, headers);
    if (isRedirect(answer.status) && answer.setCookies.length > 0) return applySetCookies({}, answer.setCookies);
    const setting = `HTTP_${this.options.header.toUpperCase().replaceAll('-', '_')}`;
    throw new NetboxUnavailable(
      `NetBox did not start a session for ${user.username} from the ${this.options.header} header (it answered ${answer.status}): ` +
        `is REMOTE_AUTH_ENABLED = True and REMOTE_AUTH_HEADER = '${setting}' set in NetBox, and is the user active?`,
      answer.status,
    );
  }

  close(cookies: NetboxCookieJar): Promise<void> {
    // Without the header: with it, NetBox would log the user straight back in.
    return this.#ui.logout(cookies, this.options.logger);
  }
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The value of `<input ... name="<name>" ... value="...">` in Django's rendering of a form. */
function hiddenInput(html: string, name: string): string | undefined {
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    if (!new RegExp(`\\bname\\s*=\\s*["']${name}["']`, 'i').test(tag)) continue;
    return /\bvalue\s*=\s*["']([^"']*)["']/i.exec(tag)?.[1];
  }
  return undefined;
}
