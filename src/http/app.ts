import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import type { SignIn } from '../login/sign-in.js';
import type { TokenCheck } from '../netbox/token-check.js';
import type { WebSessionOpener } from '../netbox/types.js';
import type { LoginRegulation } from '../regulation/regulator.js';
import type { SessionLifecycle } from '../session/lifecycle.js';
import { RedisUnavailable } from '../redis/connection.js';
import { renderStoreUnavailable, renderUnavailable, wantsJson } from './answers.js';
import { gatewayRoutes } from './gateway-routes.js';
import { createNetboxProxy } from './proxy.js';
import { refuseOversizedBody } from './oversized.js';
import { readinessHandler, type ReadinessDeps } from './ready.js';
import { requestHygiene } from './request-hygiene.js';
import { securityHeaders } from './security-headers.js';
import { gatewaySession, type SessionOptions } from './session.js';
import { signInGate } from './sign-in-gate.js';
import { staticFiles } from './static-files.js';
import { tokenPassThrough } from './token-pass-through.js';

const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url));

/** How often a signed-in session's last-seen time is written back; idle expiry is exact to within this. */
const LAST_SEEN_RESOLUTION_MS = 30_000;

export interface AppDeps {
  readonly netboxUrl: URL;
  readonly netboxMaxConnections: number;
  readonly trustedProxies: readonly string[];
  readonly session: SessionOptions;
  readonly signIn: SignIn;
  readonly webSessions: WebSessionOpener;
  readonly lifecycle: SessionLifecycle;
  readonly regulation: LoginRegulation;
  /** Headers NetBox reads identity from; stripped from clients in both modes, sent to NetBox in remote-user mode. */
  readonly remoteUser: { readonly header: string; readonly groupHeader: string; readonly groupSeparator: string };
  readonly sendRemoteUser: boolean;
  readonly staticRoot: string | undefined;
  readonly hstsMaxAgeSeconds: number;
  readonly readiness: ReadinessDeps;
  readonly tokenCheck: TokenCheck;
  readonly logger: Logger;
}

/**
 * The whole request path, in order: each policy below either answers or passes the request on.
 *
 * 1. security headers: helmet on every answer the gateway makes itself, HSTS over HTTPS (and, while draining,
 *    `Connection: close`);
 * 2. request hygiene: a usable Host, one canonical request target, no upgrades, no hop-by-hop or identity headers;
 * 3. the gateway's health and readiness;
 * 4. static files: the gateway's own, and NetBox's without a session;
 * 5. the gateway session;
 * 6. token pass-through: API calls with a NetBox token NetBox accepts;
 * 7. the gateway's own pages: sign-in (each step through login regulation, ./regulation.ts), sign-out, NetBox re-login;
 * 8. the sign-in gate: a signed-in user's request goes to NetBox, anyone else is sent to sign in.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');

  const headers = securityHeaders({ hstsMaxAgeSeconds: deps.hstsMaxAgeSeconds });
  const proxy = createNetboxProxy({
    netboxUrl: deps.netboxUrl,
    maxConnections: deps.netboxMaxConnections,
    sessionCookieName: deps.session.cookieName,
    remoteUser: deps.sendRemoteUser ? deps.remoteUser : undefined,
    logger: deps.logger,
    renderUnavailable,
    forNetboxAnswer: headers.forNetboxAnswer,
  });

  app.use((_req: Request, res: Response, next: NextFunction) => {
    // While the gateway drains, no connection is kept for another request: the client opens a new one elsewhere.
    if (deps.readiness.draining()) res.setHeader('Connection', 'close');
    next();
  });
  app.use(headers.middleware);
  app.use(requestHygiene({ identityHeaders: [deps.remoteUser.header, deps.remoteUser.groupHeader], logger: deps.logger }));
  app.use('/-', gatewayPageHeaders);
  app.get('/-/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/-/ready', readinessHandler(deps.readiness));
  app.use(staticFiles({ staticRoot: deps.staticRoot, proxy }));
  app.use(gatewaySession(deps.session));
  app.use(noteActivity);
  app.use(tokenPassThrough({ tokenCheck: deps.tokenCheck, proxy }));
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
  app.use(signInGate({ proxy }));

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Client errors raised by express's own middleware (a missing static file, an oversized form) carry their status.
    if (error instanceof RedisUnavailable) {
      // Logged where the connection saw it go, once, not once per request.
      if (res.headersSent) res.destroy();
      else renderStoreUnavailable(req, res);
      return;
    }
    const status = clientErrorStatus(error);
    if (status === undefined) deps.logger.error({ path: req.path, err: error }, 'request failed');
    const message = status === 404 ? 'Not found.' : status === 413 ? 'Request body too large.' : status === undefined ? 'Internal error in the login gateway.' : 'Bad request.';
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (status === 413) refuseOversizedBody(req, res, message);
    else if (wantsJson(req)) res.status(status ?? 500).json({ detail: message });
    else res.status(status ?? 500).type('text/plain').send(message);
  });
  return app;
}

/** The gateway's pages are per user and per moment; helmet has set the rest of their headers. */
function gatewayPageHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set('Cache-Control', 'no-store');
  next();
}

function noteActivity(req: Request, _res: Response, next: NextFunction): void {
  const user = req.session.user;
  const now = Date.now();
  if (user === undefined || now - user.lastSeenAt <= LAST_SEEN_RESOLUTION_MS) return next();
  // Saved before NetBox is asked: a proxied answer is streamed, and a client that goes away never lets it end.
  req.session.updateUser({ lastSeenAt: now });
  req.session.save().then(() => next(), next);
}

function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
