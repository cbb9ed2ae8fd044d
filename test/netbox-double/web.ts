import type { Request, Response } from 'express';
import { authenticateToken } from './api.js';
import { csrfFailure } from './csrf.js';
import { baseUrl, csrfToken, header, logIn, logOut, redirect, type RequestContext } from './context.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOGIN_ERROR = 'Please enter a correct username and password. Note that both fields may be case-sensitive.';
const STATIC_FILES: Record<string, { type: string; body: string }> = {
  '/static/netbox.css': { type: 'text/css', body: 'body { font-family: sans-serif; }\n#netbox-user { font-weight: bold; }\n' },
  '/static/netbox.js': { type: 'text/javascript', body: 'window.NETBOX_DOUBLE = true;\n' },
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Python's quote(safe='/'), as Django's redirect_to_login() encodes `next`. */
function quoteNext(value: string): string {
  return encodeURIComponent(value)
    .replace(/%2F/gi, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** NetBox's safe_for_redirect(): only same-site relative paths. */
function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  return /[\u0000-\u001f\u007f]/.test(value) ? '/' : value;
}

function formFields(req: Request): URLSearchParams {
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  const raw: unknown = req.body;
  if (type !== 'application/x-www-form-urlencoded' || !Buffer.isBuffer(raw)) return new URLSearchParams();
  return new URLSearchParams(raw.toString('utf8'));
}

function csrfRejection(context: RequestContext, req: Request, form: URLSearchParams): string | undefined {
  return csrfFailure({
    secure: context.secure,
    host: context.host,
    origin: header(req, 'origin'),
    referer: header(req, 'referer'),
    cookieSecret: context.csrfSecret,
    formToken: form.get('csrfmiddlewaretoken') ?? undefined,
    headerToken: header(req, 'x-csrftoken'),
  });
}

function sendCsrfFailure(res: Response, reason: string): void {
  res
    .status(403)
    .type('html')
    .send(`<h1>Forbidden <span>(403)</span></h1><p>CSRF verification failed. Request aborted.</p><p id="csrf-reason">${escapeHtml(reason)}</p>`);
}

function redirectToLogin(context: RequestContext, res: Response): void {
  redirect(res, 302, `/login/?next=${quoteNext(context.url.pathname + context.url.search)}`);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} | NetBox</title>
<link rel="stylesheet" href="/static/netbox.css"><script src="/static/netbox.js"></script></head>
<body>
${body}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------------------------

export function handleLogin(context: RequestContext, req: Request, res: Response): void {
  if (req.method === 'GET' || req.method === 'HEAD') {
    const next = context.url.searchParams.get('next') ?? '/';
    // LoginView.get(): an authenticated user goes straight on to `next`.
    if (context.user) return void redirect(res, 302, safeNext(next));
    return void res.type('html').send(loginPage(context, res, next, false));
  }
  if (req.method !== 'POST') return void res.status(405).send('');
  const form = formFields(req);
  const reason = csrfRejection(context, req, form);
  if (reason) return sendCsrfFailure(res, reason);
  const next = form.get('next') ?? '/';
  // ModelBackend: exact username, usable password, active user.
  const user = context.state.userByExactName(form.get('username') ?? '');
  if (!user || !user.isActive || !context.state.checkPassword(user, form.get('password') ?? '')) {
    return void res.type('html').send(loginPage(context, res, next, true));
  }
  logIn(context, res, user, 'password');
  redirect(res, 302, safeNext(next));
}

function loginPage(context: RequestContext, res: Response, next: string, failed: boolean): string {
  const token = csrfToken(context, res);
  return layout(
    'Login',
    `<main class="login">
<form action="/login/" method="post" id="login-form">
<input type="hidden" name="csrfmiddlewaretoken" value="${token}">
<input type="hidden" name="next" value="${escapeHtml(next)}">
${failed ? `<div class="alert alert-danger" id="login-error">${escapeHtml(LOGIN_ERROR)}</div>` : ''}
<label for="id_username">Username</label><input type="text" name="username" id="id_username" autocomplete="username" required>
<label for="id_password">Password</label><input type="password" name="password" id="id_password" autocomplete="current-password" required>
<button type="submit">Sign In</button>
</form>
</main>`,
  );
}

export function handleLogout(context: RequestContext, req: Request, res: Response): void {
  // NetBox's LogoutView has only a GET handler.
  if (req.method !== 'GET') return void res.status(405).send('');
  logOut(context, res);
  redirect(res, 302, '/');
}

export function handleStatic(context: RequestContext, req: Request, res: Response): void {
  const file = STATIC_FILES[context.url.pathname];
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.status(404).type('html').send('<h1>Not Found</h1>');
  res.type(file.type).send(file.body);
}

/** Media honours a session or an API token (unlike pages). */
export function handleMedia(context: RequestContext, req: Request, res: Response): void {
  const byToken = authenticateToken(context, header(req, 'authorization'));
  if (!context.user && byToken.kind !== 'ok') return redirectToLogin(context, res);
  res.type('text/plain').send(`media:${context.url.pathname.slice('/media/'.length)}`);
}

/**
 * Every other path is "a NetBox page": session only (an Authorization header is ignored), unsafe methods need CSRF.
 * The page shows what a proxy test needs to see: who is logged in, what NetBox received, a CSRF-protected form.
 */
export function handlePage(context: RequestContext, req: Request, res: Response): void {
  const { pathname, search } = context.url;
  if (!pathname.endsWith('/')) return void redirect(res, 301, `${pathname}/${search}`);
  const user = context.user;
  if (!user) return redirectToLogin(context, res);
  let posted = '';
  if (!SAFE_METHODS.has(req.method)) {
    const form = formFields(req);
    const reason = csrfRejection(context, req, form);
    if (reason) return sendCsrfFailure(res, reason);
    const fields = [...form.entries()].filter(([name]) => name !== 'csrfmiddlewaretoken');
    posted = `<p id="post-result">accepted ${escapeHtml(req.method)}: ${escapeHtml(new URLSearchParams(fields).toString())}</p>`;
  }
  const token = csrfToken(context, res);
  const seen = Object.fromEntries(
    Object.entries(req.headers).filter(([name]) => name !== 'cookie' && name !== 'authorization'),
  );
  const groups = context.state.groupNamesOf(user).map((g) => `<li>${escapeHtml(g)}</li>`).join('');
  const absolute = `${baseUrl(context)}${pathname}${search}`;
  res.type('html').send(
    layout(
      'Page',
      `<header><span id="netbox-user">${escapeHtml(user.username)}</span> <a href="/logout/" id="logout">Log out</a></header>
<ul id="netbox-groups">${groups}</ul>
<p id="request-method">${escapeHtml(req.method)}</p>
<p id="request-path">${escapeHtml(pathname)}</p>
<p id="request-query">${escapeHtml(search.slice(1))}</p>
<a id="absolute-url" href="${escapeHtml(absolute)}">${escapeHtml(absolute)}</a>
<pre id="request-headers">${escapeHtml(JSON.stringify(seen, null, 1))}</pre>
${posted}
<form id="page-form" method="post" action="${escapeHtml(pathname + search)}">
<input type="hidden" name="csrfmiddlewaretoken" value="${token}">
<input type="text" name="comment" id="comment">
<button type="submit" id="page-submit">Save</button>
</form>
<script>window.CSRF_TOKEN = "${token}";</script>`,
    ),
  );
}
