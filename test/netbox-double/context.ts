import type { Request, Response } from 'express';
import { isCsrfSecret, maskCsrfSecret, newCsrfSecret } from './csrf.js';
import type { DoubleSession, DoubleState, DoubleUser, RemoteAuthOptions } from './state.js';

const SESSION_COOKIE = 'sessionid';
const CSRF_COOKIE = 'csrftoken';
// Django's defaults: two weeks for the session (NetBox's LOGIN_TIMEOUT), a year for the CSRF cookie.
const SESSION_MAX_AGE = 1_209_600;
const CSRF_MAX_AGE = 31_449_600;
// Django's host_validation_re: a comma-joined X-Forwarded-Host (a proxy appending instead of replacing) fails it.
const VALID_HOST = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:\d+)?$/i;

/** What Django's middleware stack has worked out about one request by the time a view runs. */
export interface RequestContext {
  readonly state: DoubleState;
  readonly url: URL;
  readonly cookies: Readonly<Record<string, string>>;
  /** request.is_secure(): NetBox's SECURE_PROXY_SSL_HEADER is X-Forwarded-Proto. */
  readonly secure: boolean;
  /** request.get_host(): X-Forwarded-Host wins (USE_X_FORWARDED_HOST = True). */
  readonly host: string;
  /** NetBox's get_client_ip(): X-Real-IP, then X-Forwarded-For, then the socket address. */
  readonly clientIp: string;
  session: DoubleSession | undefined;
  user: DoubleUser | undefined;
  csrfSecret: string | undefined;
}

export function header(req: Request, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Python's str.strip() within Latin-1 (WSGI hands Django the header as Latin-1 text): more than JavaScript's trim(). */
const PYTHON_WHITESPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0]+$/g;

/**
 * django.http.cookie.parse_cookie: split on `;`, a chunk without `=` is a value with the empty name, names and
 * values stripped the Python way, and a later duplicate replaces an earlier one (it fills a dict).
 */
export function parseDjangoCookies(raw: string | undefined): Record<string, string> {
  // No prototype: a cookie named __proto__ is just a cookie.
  const cookies = Object.create(null) as Record<string, string>;
  for (const chunk of (raw ?? '').split(';')) {
    const eq = chunk.indexOf('=');
    const name = eq === -1 ? '' : chunk.slice(0, eq).replace(PYTHON_WHITESPACE, '');
    const value = (eq === -1 ? chunk : chunk.slice(eq + 1)).replace(PYTHON_WHITESPACE, '');
    if (name !== '' || value !== '') cookies[name] = value;
  }
  return cookies;
}

/** Builds the context, or answers 400 itself (Django's DisallowedHost) and returns undefined. */
export function createContext(state: DoubleState, req: Request, res: Response): RequestContext | undefined {
  const host = header(req, 'x-forwarded-host') ?? header(req, 'host') ?? '';
  if (!VALID_HOST.test(host)) {
    res.status(400).type('html').send('<h1>Bad Request (400)</h1>');
    return undefined;
  }
  const proto = header(req, 'x-forwarded-proto')?.split(',')[0]?.trim();
  const clientIp =
    header(req, 'x-real-ip')?.split(',')[0]?.trim() ||
    header(req, 'x-forwarded-for')?.split(',')[0]?.trim() ||
    req.socket.remoteAddress ||
    '';
  const cookies = parseDjangoCookies(header(req, 'cookie'));
  const context: RequestContext = {
    state,
    url: new URL(req.originalUrl, 'http://netbox.invalid'),
    cookies,
    secure: proto === 'https',
    host,
    clientIp,
    session: undefined,
    user: undefined,
    csrfSecret: isCsrfSecret(cookies[CSRF_COOKIE]) ? cookies[CSRF_COOKIE] : undefined,
  };
  const sessionKey = cookies[SESSION_COOKIE];
  const session = sessionKey === undefined ? undefined : state.sessions.get(sessionKey);
  if (session) {
    const user = state.user(session.userId);
    if (!user || user.passwordGeneration !== session.passwordGeneration) {
      // Django flushes a session whose auth hash no longer matches, and SessionMiddleware drops the cookie.
      state.sessions.delete(session.key);
      deleteCookie(res, SESSION_COOKIE);
    } else {
      context.session = session;
      context.user = user.isActive ? user : undefined;
    }
  }
  return context;
}

/** Django's HttpResponseRedirect: a Location and an empty body. */
export function redirect(res: Response, status: 301 | 302, location: string): void {
  res.status(status).location(location).end();
}

export function baseUrl(context: RequestContext): string {
  return `${context.secure ? 'https' : 'http'}://${context.host}`;
}

function setCookie(res: Response, name: string, value: string, maxAge: number): void {
  const expires = new Date(Date.now() + maxAge * 1000).toUTCString();
  res.append('Set-Cookie', `${name}=${value}; expires=${expires}; HttpOnly; Max-Age=${maxAge}; Path=/; SameSite=Lax`);
}

function deleteCookie(res: Response, name: string): void {
  res.append('Set-Cookie', `${name}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax`);
}

/** django.middleware.csrf.get_token(): a fresh masked token, creating (and setting) the secret when missing. */
export function csrfToken(context: RequestContext, res: Response): string {
  if (context.csrfSecret === undefined) {
    context.csrfSecret = newCsrfSecret();
    setCookie(res, CSRF_COOKIE, context.csrfSecret, CSRF_MAX_AGE);
  }
  return maskCsrfSecret(context.csrfSecret);
}

/** django.contrib.auth.login(): a new session key (the old session is gone), and a rotated CSRF secret. */
export function logIn(context: RequestContext, res: Response, user: DoubleUser, backend: DoubleSession['backend']): void {
  if (context.session) context.state.sessions.delete(context.session.key);
  const session = context.state.openSession(user.id, backend);
  context.session = session;
  context.user = user;
  user.lastLogin = new Date();
  setCookie(res, SESSION_COOKIE, session.key, SESSION_MAX_AGE);
  context.csrfSecret = newCsrfSecret();
  setCookie(res, CSRF_COOKIE, context.csrfSecret, CSRF_MAX_AGE);
}

/** django.contrib.auth.logout(): the session is flushed and its cookie deleted. */
export function logOut(context: RequestContext, res: Response): void {
  if (context.session) {
    context.state.sessions.delete(context.session.key);
    deleteCookie(res, SESSION_COOKIE);
  }
  context.session = undefined;
  context.user = undefined;
}

/**
 * NetBox's RemoteUserMiddleware (force_logout_if_no_header = False): a header naming someone other than the session's
 * user logs the session out and the named user in; no header leaves any existing session alone. Groups, superuser
 * and staff are synced only then, when a session starts, never on later requests of the same session.
 */
export function applyRemoteUser(context: RequestContext, req: Request, res: Response): void {
  const { remoteAuth } = context.state;
  if (!remoteAuth.enabled) return;
  const username = header(req, remoteAuth.header);
  if (username === undefined) return;
  if (context.user) {
    if (context.user.username === username) return;
    logOut(context, res);
  }
  if (username === '') return;
  const user = remoteUserBackend(context.state, username, remoteGroups(req, remoteAuth));
  if (!user) return;
  // The middleware copies the profile headers (REMOTE_AUTH_USER_FIRST_NAME etc., on by default) when present.
  const firstName = header(req, 'remote-user-first-name');
  const lastName = header(req, 'remote-user-last-name');
  const email = header(req, 'remote-user-email');
  if (firstName !== undefined) user.firstName = firstName;
  if (lastName !== undefined) user.lastName = lastName;
  if (email !== undefined) user.email = email;
  logIn(context, res, user, 'remote-user');
}

/** RemoteUserMiddleware._get_groups(): the header split on the separator, nothing trimmed; absent or empty is []. */
function remoteGroups(req: Request, remoteAuth: RemoteAuthOptions): string[] {
  const value = header(req, remoteAuth.groupHeader);
  return value ? value.split(remoteAuth.groupSeparator) : [];
}

/** NetBox's RemoteUserBackend.authenticate(): the user to log in, or undefined. */
function remoteUserBackend(state: DoubleState, username: string, groups: readonly string[]): DoubleUser | undefined {
  const { remoteAuth } = state;
  // get_or_create / get_by_natural_key: the exact username, not ignoring case.
  let user = state.userByExactName(username);
  if (!user && remoteAuth.autoCreateUser) {
    user = state.insertUser(username);
    // configure_user(): default groups (existing ones only) when group sync is off.
    if (!remoteAuth.groupSyncEnabled) {
      for (const name of remoteAuth.defaultGroups) {
        const group = state.groupByName(name);
        if (group) user.groupIds.add(group.id);
      }
    }
  }
  if (!user?.isActive) return undefined;
  if (remoteAuth.groupSyncEnabled) configureGroups(state, user, groups);
  return user;
}

/**
 * RemoteUserBackend.configure_groups(): the groups become exactly the header's (missing ones created only with
 * REMOTE_AUTH_AUTO_CREATE_GROUPS, else skipped), then is_superuser and (up to 4.4) is_staff follow the groups.
 */
function configureGroups(state: DoubleState, user: DoubleUser, names: readonly string[]): void {
  const { remoteAuth } = state;
  user.groupIds.clear();
  for (const name of names) {
    const group = state.groupByName(name) ?? (remoteAuth.autoCreateGroups ? state.addGroup(name) : undefined);
    if (group) user.groupIds.add(group.id);
  }
  const groups = state.groupNamesOf(user);
  user.isSuperuser = remoteAuth.superusers.includes(user.username) || groups.some((g) => remoteAuth.superuserGroups.includes(g));
  if (!state.modern) {
    user.isStaff = remoteAuth.staffUsers.includes(user.username) || groups.some((g) => remoteAuth.staffGroups.includes(g));
  }
}
