import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { handleApi } from './api.js';
import { applyRemoteUser, createContext, redirect } from './context.js';
import { DoubleState, type NetboxVersion, type RecordedRequest, type RemoteAuthOptions } from './state.js';
import { handleLogin, handleLogout, handleMedia, handlePage, handleStatic } from './web.js';

export { DoubleState, SERVICE_USERNAME } from './state.js';
export { OBJECT_TYPES, objectTypeName, type DoubleObjectType } from './object-types.js';
export type {
  DoubleGroup,
  DoublePermission,
  DoubleSession,
  DoubleToken,
  DoubleUser,
  FailureMode,
  IssuedToken,
  NetboxVersion,
  NewPermission,
  NewToken,
  NewUser,
  RecordedRequest,
  RemoteAuthOptions,
} from './state.js';

export interface NetboxDoubleOptions {
  /** Default '4.6.8'. */
  readonly version?: NetboxVersion;
  /** NetBox's REMOTE_AUTH_* settings; off by default, like NetBox, and with NetBox's defaults. */
  readonly remoteAuth?: { readonly enabled: boolean } & Partial<Omit<RemoteAuthOptions, 'enabled'>>;
  /** NetBox's MAX_PAGE_SIZE; default 1000. */
  readonly maxPageSize?: number;
  readonly host?: '127.0.0.1';
  /** Default 0: any free port. */
  readonly port?: number;
}

export interface NetboxDouble {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly state: DoubleState;
  /** Ends hanging requests too; calling it again is harmless. */
  close(): Promise<void>;
}

// Room above NetBox's 25 MB upload limit, so proxy tests see the proxy's limit, not the double's.
const BODY_LIMIT = '30mb';

/** Starts a fake NetBox on loopback. See README.md beside this file for what it does and its test-only endpoints. */
export async function startNetboxDouble(options: NetboxDoubleOptions = {}): Promise<NetboxDouble> {
  const remoteAuth: RemoteAuthOptions = {
    enabled: false,
    header: 'Remote-User',
    autoCreateUser: false,
    autoCreateGroups: false,
    groupSyncEnabled: false,
    groupHeader: 'Remote-User-Group',
    groupSeparator: '|',
    superuserGroups: [],
    superusers: [],
    staffGroups: [],
    staffUsers: [],
    defaultGroups: [],
    ...options.remoteAuth,
  };
  const state = new DoubleState(options.version ?? '4.6.8', remoteAuth, options.maxPageSize);
  const app = express();
  const recordedOf = new WeakMap<Request, RecordedRequest>();
  app.disable('x-powered-by');
  app.disable('etag');

  app.use((req: Request, res: Response, next: NextFunction) => {
    const recorded: RecordedRequest = { method: req.method, path: req.originalUrl, headers: { ...req.headers }, at: new Date() };
    state.requests.push(recorded);
    recordedOf.set(req, recorded);
    res.setHeader('X-Request-ID', randomUUID());
    if (state.failure === 'unavailable') return void res.status(503).type('html').send('<h1>503 Service Unavailable</h1>');
    // Never answered: the socket is destroyed when the double closes.
    if (state.failure === 'hang') return;
    next();
  });

  app.use('/__double__', testEndpoints(state));
  app.use(express.raw({ type: () => true, limit: BODY_LIMIT }));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const recorded = recordedOf.get(req);
    if (recorded && Buffer.isBuffer(req.body) && req.body.length > 0) recorded.body = req.body.toString('utf8');
    next();
  });

  app.use((req: Request, res: Response) => {
    const context = createContext(state, req, res);
    if (!context) return;
    applyRemoteUser(context, req, res);
    const path = context.url.pathname;
    if (path.startsWith('/api/') || path === '/api') return handleApi(context, req, res);
    if (path === '/login/') return handleLogin(context, req, res);
    if (path === '/logout/') return handleLogout(context, req, res);
    if (path.startsWith('/static/')) return handleStatic(context, req, res);
    if (path.startsWith('/media/')) return handleMedia(context, req, res);
    handlePage(context, req, res);
  });

  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 500;
    res.status(Number.isInteger(status) ? status : 500).type('text').send(String(error));
  });

  const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}

/** Paths NetBox does not use, for proxy tests. Unauthenticated on purpose. */
function testEndpoints(state: DoubleState): express.Router {
  const router = express.Router();

  // Streams the body without buffering it and reports its size and digest (the 25 MB upload test).
  router.all('/body', (req: Request, res: Response) => {
    let bytes = 0;
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      state.uploads.push({ bytes, complete: true });
      res.json({ bytes, sha256: hash.digest('hex') });
    });
    req.on('close', () => {
      if (!req.complete) state.uploads.push({ bytes, complete: false });
    });
  });

  // Answers after `ms` milliseconds (proxy timeout tests); gives up quietly when the client goes away.
  router.get('/slow', (req: Request, res: Response) => {
    const ms = Number(req.query['ms'] ?? 1000);
    const timer = setTimeout(() => res.type('text').send(`slow ${ms}`), Number.isFinite(ms) ? ms : 1000);
    res.on('close', () => clearTimeout(timer));
  });

  // Every header exactly as received, cookies included (which headers a proxy adds, strips or rewrites).
  router.all('/headers', (req: Request, res: Response) => {
    res.json({ method: req.method, path: req.originalUrl, remoteAddress: req.socket.remoteAddress, headers: req.headers });
  });

  // An absolute redirect into NetBox's own origin (Location rewriting tests).
  router.get('/redirect', (req: Request, res: Response) => {
    const to = typeof req.query['to'] === 'string' ? req.query['to'] : '/';
    redirect(res, 302, new URL(to, `http://${req.headers.host ?? '127.0.0.1'}`).toString());
  });

  // Location (or `header`: Refresh, HX-Redirect) exactly as given, however hostile (what NetBox might echo from a return_url).
  router.get('/location', (req: Request, res: Response) => {
    res.status(Number(req.query['status'] ?? 302)).setHeader(String(req.query['header'] ?? 'Location'), String(req.query['value'] ?? ''));
    res.end();
  });

  // The security headers NetBox's own pages carry, to see that the gateway leaves them alone.
  router.get('/secured', (_req: Request, res: Response) => {
    res.set({ 'Content-Security-Policy': "default-src 'self' netbox", 'X-Frame-Options': 'SAMEORIGIN', 'Referrer-Policy': 'same-origin' });
    res.type('html').send('<p>secured</p>');
  });

  return router;
}
