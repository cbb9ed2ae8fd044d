import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, ServerResponse, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { EdgeConfig, HostPort, ListenerTls } from '../config/types.js';
import type { Logger } from '../log.js';
import { usableHost } from './request-hygiene.js';
import { canonicalTarget } from './request-target.js';

export interface Listeners {
  /** The gateway itself: HTTPS with TLS_CERT_FILE/TLS_KEY_FILE, else plain HTTP. */
  readonly server: Server;
  /** HTTP_REDIRECT_PORT's listener, when set. */
  readonly redirect: Server | undefined;
  /** The gateway's own URL, as bound (LISTEN_PORT=0 picks a free port). */
  readonly url: string;
  /** Re-reads the certificate and key (SIGHUP, after a renewal); keeps the old ones when the new ones do not work. */
  reloadTls(): void;
}

/** An Express application: its request and response prototypes are what every request should be made with. */
export interface RequestHandlingApp extends RequestListener {
  readonly request: object;
  readonly response: object;
}

/** Both listeners, bound. Connection limits and timeouts apply to each. */
export async function startListeners(app: RequestHandlingApp, listen: HostPort, edge: EdgeConfig, logger: Logger): Promise<Listeners> {
  const options: ServerOptions = {
    ...messagesMadeFor(app),
    // Longer than NetBox's 120 s upstream timeout, so a slow NetBox page is not cut by the gateway first.
    requestTimeout: 130_000,
    headersTimeout: edge.headersTimeoutMs,
    keepAliveTimeout: edge.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default), which let half-open connections linger.
    connectionsCheckingInterval: Math.min(1_000, edge.headersTimeoutMs),
  };
  const tls = edge.tls;
  // A TLS handshake gets no longer than a request head: a client that connects and never says hello is cut.
  const server =
    tls === undefined
      ? createHttpServer(options, app)
      : createHttpsServer({ ...options, ...readPair(tls), minVersion: tls.minVersion, handshakeTimeout: edge.headersTimeoutMs }, app);
  server.maxConnections = edge.maxConnections;
  const bound = await listenOn(server, listen.port, listen.host);

  let redirect: Server | undefined;
  if (edge.httpRedirectPort !== undefined) {
    redirect = createHttpServer(options, redirectToHttps(bound.port));
    redirect.maxConnections = edge.maxConnections;
    await listenOn(redirect, edge.httpRedirectPort, listen.host);
  }

  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    server,
    redirect,
    url: `${tls === undefined ? 'http' : 'https'}://${host}:${bound.port}`,
    reloadTls: () => {
      if (tls === undefined || !('setSecureContext' in server)) {
        logger.info({}, 'SIGHUP: no TLS certificate to reload');
        return;
      }
      try {
        server.setSecureContext({ ...readPair(tls), minVersion: tls.minVersion });
        logger.info({ certFile: tls.certFile }, 'TLS certificate reloaded');
      } catch (error) {
        logger.error({ certFile: tls.certFile, keyFile: tls.keyFile, error: (error as Error).message }, 'TLS certificate not reloaded; the old one stays in use');
      }
    },
  };
}

function readPair(tls: ListenerTls): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
}

function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * The plain listener beside HTTPS: health for load balancers, a 308 to the same host over HTTPS for everything
 * else (308, not 301, so a form post stays a post). The Host and target are checked as the gateway checks them: the
 * answer is built from them.
 */
function redirectToHttps(httpsPort: number): RequestListener {
  return (req, res) => {
    const target = canonicalTarget(req.url ?? '');
    const host = req.headers.host;
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (target.ok && target.path === '/-/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (!target.ok || host === undefined || !usableHost(host)) {
      res.writeHead(400, { 'Content-Type': 'text/plain', Connection: 'close' }).end('Bad request.');
      return;
    }
    // A browser that reached the standard port 80 names no port: its HTTPS is on 443, whatever a container maps it
    // to inside. Only a non-standard public port suggests that HTTPS is on LISTEN_PORT itself.
    const [, hostname = host, port] = /^(.*?)(?::(\d+))?$/.exec(host) ?? [];
    const publicPort = port === undefined || Number(port) === 80 || httpsPort === 443 ? '' : `:${httpsPort}`;
    const location = `https://${hostname}${publicPort}${target.url}`;
    res.writeHead(308, { Location: location, 'Content-Type': 'text/plain' }).end('This site is served over HTTPS.');
  };
}

/**
 * Express moves every request and response onto its own prototypes (`Object.setPrototypeOf` in `app.handle`). Done
 * after Node made them, that gives each one a new hidden class, and Node's HTTP code, which sees both kinds, runs
 * deoptimised: measured with bench/proxy.ts it cost about as much CPU as the rest of a proxied request. Made with
 * Express's prototypes from the start, the move is a no-op.
 */
function messagesMadeFor(app: RequestHandlingApp): Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  // Node's constructors are plain functions (still in Node 24), so they can initialise an object made by another
  // constructor. Reflect.construct would work for classes too, but its objects lose the benefit (measured).
  const initRequest = IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void;
  const initResponse = ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: ServerOptions) => void;
  function ExpressRequest(this: IncomingMessage, socket: Socket): void {
    initRequest.call(this, socket);
  }
  ExpressRequest.prototype = app.request;
  function ExpressResponse(this: ServerResponse, req: IncomingMessage, options?: ServerOptions): void {
    initResponse.call(this, req, options);
  }
  ExpressResponse.prototype = app.response;
  return { IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage, ServerResponse: ExpressResponse as unknown as typeof ServerResponse };
}
