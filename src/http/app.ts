import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../log.js';
import type { SignIn } from '../login/sign-in.js';
import type { TokenCheck } from '../netbox/token-check.js';
import type { WebSessionOpener } from '../netbox/types.js';
import type { LoginRegulation } from '../regulation/regulator.js';
import type { SessionLifecycle } from '../session/lifecycle.js';
import '../session/types.js';
import { stripRemoteUserHeaders } from './client-headers.js';
import { gatewayRoutes } from './gateway-routes.js';
import { localRedirectTarget } from './local-redirect.js';
import { createNetboxProxy } from './proxy.js';
import { readinessHandler, type ReadinessDeps } from './ready.js';

const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url));
const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/** How often a signed-in session's last-seen time is written back; idle expiry is exact to within this. */
const LAST_SEEN_RESOLUTION_MS = 30_000;

export interface AppDeps {
  readonly netboxUrl: URL;
  readonly trustedProxies: readonly string[];
  readonly sessionCookieName: string;
  readonly session: RequestHandler;
  readonly signIn: SignIn;
  readonly webSessions: WebSessionOpener;
  readonly lifecycle: SessionLifecycle;
  readonly regulation: LoginRegulation;
  /** Headers NetBox reads identity from; stripped from clients in both modes, sent to NetBox in remote-user mode. */
  readonly remoteUser: { readonly header: string; readonly groupHeader: string; readonly groupSeparator: string };
  readonly sendRemoteUser: boolean;
  readonly staticRoot: string | undefined;
  readonly readiness: ReadinessDeps;
  readonly tokenCheck: TokenCheck;
  readonly logger: Logger;
}

/**
 * The whole request path, in order. A request first loses any identity a client tried to claim, then is
 * either the gateway's own (`/-/...`), a static file, a token-authenticated API call passed straight
 * through, or a browser request that needs a signed-in gateway session before it is proxied to NetBox.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');

  const renderUnavailable = (req: Request, res: Response, status: number) => {
    if (wantsJson(req)) res.status(status).json({ detail: 'NetBox is unavailable.' });
    else res.status(status).render('unavailable', {});
  };
  const proxy = createNetboxProxy({
    netboxUrl: deps.netboxUrl,
    sessionCookieName: deps.sessionCookieName,
    remoteUser: deps.sendRemoteUser ? deps.remoteUser : undefined,
    logger: deps.logger,
    renderUnavailable,
  });

  app.use((req, res, next) => {
    // Absolute-form targets (`GET http://host/path`) are for forward proxies; every path check below assumes a path.
    if (!req.url.startsWith('/')) {
      res.status(400).type('text/plain').send('Bad request target.');
      return;
    }
    stripRemoteUserHeaders(req.headers, [deps.remoteUser.header, deps.remoteUser.groupHeader]);
    next();
  });

  app.use('/-', gatewayPageHeaders);
  app.use('/-/static', express.static(PUBLIC_DIR, { fallthrough: false, index: false, maxAge: '1h' }));
  app.get('/-/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/-/ready', readinessHandler(deps.readiness));

  if (deps.staticRoot !== undefined) {
    app.use('/static', express.static(deps.staticRoot, { fallthrough: false, index: false, maxAge: '1d' }));
  } else {
    // Not a mount: a mount strips `/static` from req.url, and the proxy would then forward any path to NetBox.
    app.use((req, res, next) => {
      if (!req.path.startsWith('/static/')) next();
      else if (req.method === 'GET' || req.method === 'HEAD') proxy(req, res);
      else res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('Static files are read-only.');
    });
  }

  app.use(deps.session);
  app.use(noteActivity);
  app.use(async (req, res, next) => {
    // Existing automation with its own NetBox token keeps working when the gateway replaces nginx; the token has
    // to be one NetBox accepts, or the request never reaches NetBox.
    if (req.session.user || !isTokenPath(req.path)) return next();
    const authorization = req.get('authorization');
    if (authorization === undefined || !isNetboxToken(authorization)) return next();
    const verdict = await deps.tokenCheck.verdict(authorization, req.ip ?? '');
    if (verdict === 'valid') proxy(req, res);
    else if (verdict === 'invalid') res.status(403).json({ detail: 'Invalid token.' });
    else renderUnavailable(req, res, 502);
  });
  app.use(
    gatewayRoutes({
      signIn: deps.signIn,
      webSessions: deps.webSessions,
      lifecycle: deps.lifecycle,
      regulation: deps.regulation,
      logger: deps.logger,
      renderUnavailable,
    }),
  );
  app.use('/-', (_req, res) => {
    res.status(404).type('text/plain').send('Not found.');
  });

  app.use((req, res) => {
    if (req.session.user) {
      proxy(req, res);
    } else if (wantsJson(req)) {
      res.status(401).json({ detail: 'Authentication required: sign in at /-/login or send a NetBox API token.' });
    } else {
      res.redirect(302, `/-/login?next=${encodeURIComponent(localRedirectTarget(req.originalUrl))}`);
    }
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Client errors raised by express's own middleware (a missing static file, an oversized form) carry their status.
    const status = clientErrorStatus(error);
    if (status === undefined) deps.logger.error({ path: req.path, err: error }, 'request failed');
    const message = status === 404 ? 'Not found.' : status === undefined ? 'Internal error in the login gateway.' : 'Bad request.';
    if (res.headersSent) res.destroy();
    else if (wantsJson(req)) res.status(status ?? 500).json({ detail: message });
    else res.status(status ?? 500).type('text/plain').send(message);
  });
  return app;
}

function gatewayPageHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  next();
}

function noteActivity(req: Request, _res: Response, next: NextFunction): void {
  const user = req.session.user;
  const now = Date.now();
  if (user && now - user.lastSeenAt > LAST_SEEN_RESOLUTION_MS) user.lastSeenAt = now;
  next();
}

function isTokenPath(path: string): boolean {
  return path.startsWith('/api/') || path.startsWith('/graphql/') || path.startsWith('/media/');
}

function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path.startsWith('/graphql/');
}

function isNetboxToken(authorization: string): boolean {
  return /^Token\s+\S+/i.test(authorization) || /^Bearer\s+nbt_\S+/i.test(authorization);
}

function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
