import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { Request, Response } from 'express';
import type { Logger } from '../log.js';
import { applySetCookies, cookieHeader } from '../netbox/cookies.js';
import type { SignedInUser } from '../session/types.js';
import { effectiveOrigin } from './csrf.js';
import { refuseOversizedBody } from './oversized.js';
import { HOP_BY_HOP } from './request-hygiene.js';
import { NETBOX_COOKIE_NAMES, upstreamCookieHeader } from './upstream-cookies.js';
import { localLocation } from './upstream-location.js';

/** NetBox's nginx sample allows 25 MB bodies; gunicorn's timeout is 120 s. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 120_000;
/**
 * How long an idle connection to NetBox is kept: below gunicorn's default keep-alive of 2 s, so the gateway closes
 * idle connections before NetBox does and rarely sends a request into one NetBox is closing.
 */
const IDLE_UPSTREAM_MS = 1_500;
/** A request NetBox never saw may be sent again; these carry no body and change nothing. */
const RETRIABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Response headers that describe NetBox's connection to the gateway, not the gateway's to the browser. */
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate']);
/** Request headers about the client's connection to the gateway; the request hygiene has dropped them already. */
const HOP_BY_HOP_REQUEST = new Set(HOP_BY_HOP);
/** htmx follows these like Location (NetBox answers htmx requests with them). */
const HTMX_REDIRECTS = ['hx-redirect', 'hx-location'];

export interface NetboxProxyOptions {
  readonly netboxUrl: URL;
  /** Connections kept to NetBox at most (NETBOX_MAX_CONNECTIONS). */
  readonly maxConnections: number;
  readonly sessionCookieName: string;
  /**
   * Set in remote-user mode: NetBox logs the user in again by itself whenever its session has gone, and syncs
   * groups (and superuser) from the group header when it does.
   */
  readonly remoteUser: { readonly header: string; readonly groupHeader: string; readonly groupSeparator: string } | undefined;
  readonly logger: Logger;
  /** Renders the page a browser sees when NetBox cannot be reached. */
  readonly renderUnavailable: (req: Request, res: Response, status: number) => void;
  /** Takes the gateway's own page headers off a response NetBox is about to fill. */
  readonly forNetboxAnswer: (res: ServerResponse) => void;
}

/** What the answer from NetBox needs to know of the request it belongs to. */
interface Exchange {
  readonly req: Request;
  readonly res: Response;
  readonly user: SignedInUser | undefined;
  /** NetBox's origin first: relative redirects are relative to NetBox's page. */
  readonly siteOrigins: readonly string[];
  upstream?: ClientRequest;
  /** The body passed MAX_BODY_BYTES: the gateway has answered 413 and NetBox's request is being torn down. */
  tooLarge?: boolean;
  /** NetBox's answer has begun: from here on nothing can be sent again. */
  answered?: boolean;
  /** The client's side has closed without NetBox's answer: nothing more is sent, nothing more is said. */
  abandoned?: boolean;
  retried?: boolean;
}

/**
 * The one way requests reach NetBox. The request NetBox receives is decided here, before anything is sent: the
 * client's cookies as Django would read them minus NetBox's own, the user's NetBox cookies from the gateway's jar,
 * the gateway's view of the forwarding headers, and in remote-user mode the identity headers. The answer is written
 * by the gateway too: NetBox's cookies go into the jar and never to the browser, every redirect stays on this site,
 * and NetBox's "please log in" redirect becomes the gateway's transparent re-login. No step can throw out of an
 * event handler: whatever goes wrong becomes this request's 4xx/5xx and a log line.
 */
export function createNetboxProxy(options: NetboxProxyOptions): (req: Request, res: Response) => void {
  const netboxOrigin = options.netboxUrl.origin;
  const dropFromBrowser = new Set<string>([...NETBOX_COOKIE_NAMES, options.sessionCookieName]);
  const sendRequest = options.netboxUrl.protocol === 'https:' ? httpsRequest : httpRequest;
  // Kept-alive connections to NetBox, as nginx's `keepalive` upstream: a new TCP (and TLS) connection per request
  // would cost more than the rest of the proxy path.
  const agentOptions = { keepAlive: true, maxSockets: options.maxConnections, maxFreeSockets: options.maxConnections, scheduling: 'lifo' as const };
  const agent = options.netboxUrl.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  // Only idle connections time out this soon (the agent closes a free one on its timeout). The agent's own `timeout`
  // option would also apply while connecting, and fail a request whose SYN had to be sent twice.
  agent.on('free', (socket: Socket) => socket.setTimeout(IDLE_UPSTREAM_MS));

  function fail(exchange: Exchange, error: unknown, status: number): void {
    const { req, res } = exchange;
    const code = (error as NodeJS.ErrnoException).code;
    options.logger.error({ path: req.path, code, error: error instanceof Error ? error.message : String(error) }, 'NetBox did not answer a proxied request');
    try {
      if (res.headersSent) res.destroy();
      else options.renderUnavailable(req, res, status);
    } catch {
      res.destroy();
    }
  }

  /**
   * The gateway's own headers come first. A server reads only so many header fields (Node 20 keeps 1,000 and drops
   * the rest, Node 24 refuses past 1,000, gunicorn past 100): a client that sends a flood of them must push its own
   * out of what NetBox reads, never the gateway's forwarding, cookie and identity headers.
   */
  function upstreamHeaders(req: Request, user: SignedInUser | undefined): IncomingHttpHeaders {
    const identity = user && options.remoteUser ? [options.remoteUser.header.toLowerCase(), options.remoteUser.groupHeader.toLowerCase()] : [];
    // Host names NetBox's own address, as nginx's proxy_pass does; the public host travels in X-Forwarded-Host.
    // X-Forwarded-* are the gateway's own view, which honours the client's only from TRUSTED_PROXIES; req.ips is the
    // trusted part of the client's chain (empty without TRUSTED_PROXIES), and the peer comes last.
    const headers: IncomingHttpHeaders = {
      host: options.netboxUrl.host,
      'x-forwarded-host': req.host,
      'x-forwarded-proto': req.protocol,
      'x-forwarded-for': [...req.ips, req.socket.remoteAddress].filter(Boolean).join(', '),
      'x-real-ip': req.ip ?? '',
    };
    if (user && options.remoteUser) {
      headers[identity[0]!] = user.username;
      headers[identity[1]!] = user.groups.join(options.remoteUser.groupSeparator);
    }
    // Static files and token calls need no cookies, and NetBox's cookie names are its operators' to change.
    if (user) {
      const cookies = upstreamCookieHeader(req.headers.cookie, new Set([...dropFromBrowser, ...Object.keys(user.netboxCookies)]));
      const combined = [cookies, cookieHeader(user.netboxCookies)].filter((part) => part !== undefined && part !== '').join('; ');
      if (combined !== '') headers.cookie = combined;
    }
    for (const [name, value] of Object.entries(req.headers)) {
      // Forwarding headers are the gateway's to state; Expect was answered by the gateway already.
      if (name === 'host' || name === 'forwarded' || name.startsWith('x-forwarded-') || name === 'x-real-ip' || name === 'expect' || name === 'cookie') continue;
      if (HOP_BY_HOP_REQUEST.has(name) || identity.includes(name)) continue;
      headers[name] = value;
    }
    // The hygiene step let only `chunked` through; Node has undone it and chunks the body again on the way out.
    if (headers['transfer-encoding'] !== undefined) headers['transfer-encoding'] = 'chunked';
    return headers;
  }

  function answerFromNetbox(exchange: Exchange, proxyRes: IncomingMessage): void {
    const { req, res, user } = exchange;
    exchange.answered = true;
    if (exchange.tooLarge || res.destroyed) {
      proxyRes.destroy();
      return;
    }
    const headers = { ...proxyRes.headers };
    const setCookies = headers['set-cookie'];
    delete headers['set-cookie'];
    if (user && setCookies) req.session.updateUser({ netboxCookies: applySetCookies(user.netboxCookies, setCookies) });

    if (headers.location !== undefined) {
      const local = localLocation(headers.location, req.path, exchange.siteOrigins);
      if (local === undefined) {
        options.logger.warn({ path: req.path, status: proxyRes.statusCode }, 'NetBox redirected off this site; refused');
        proxyRes.resume();
        options.renderUnavailable(req, res, 502);
        return;
      }
      if (user && local.startsWith('/login/')) {
        // Only a re-login NetBox asked for may happen on a request from another site (see /-/reauth).
        req.session.updateUser({ netboxReloginRequestedAt: Date.now() });
        headers.location = reauthPath(local, req.originalUrl);
      } else {
        headers.location = local;
      }
    }
    for (const name of HTMX_REDIRECTS) {
      const value = headers[name];
      if (typeof value !== 'string') continue;
      const local = localHtmxTarget(value, req.path, exchange.siteOrigins);
      if (local === undefined) delete headers[name];
      else headers[name] = local;
    }
    if (typeof headers.refresh === 'string') {
      const refresh = localRefresh(headers.refresh, req.path, exchange.siteOrigins);
      if (refresh === undefined) delete headers.refresh;
      else headers.refresh = refresh;
    }

    // NetBox's new cookies, or its request for a re-login, are saved before the browser sees the answer: the
    // browser's next request must find them, and a streamed answer the client leaves never ends.
    if (user && req.session.changed) {
      req.session.save().then(
        () => writeAnswer(exchange, proxyRes, headers),
        (error: unknown) => {
          options.logger.error({ path: req.path, err: error }, 'could not save the NetBox session cookies; answering without them');
          writeAnswer(exchange, proxyRes, headers);
        },
      );
    } else {
      writeAnswer(exchange, proxyRes, headers);
    }
  }

  function writeAnswer(exchange: Exchange, proxyRes: IncomingMessage, headers: IncomingHttpHeaders): void {
    const { res } = exchange;
    if (res.destroyed) {
      proxyRes.destroy();
      return;
    }
    options.forNetboxAnswer(res);
    res.statusCode = proxyRes.statusCode ?? 502;
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && !HOP_BY_HOP_RESPONSE.has(name)) res.setHeader(name, value);
    }
    proxyRes.on('error', () => res.destroy());
    res.on('close', () => {
      if (!proxyRes.complete) proxyRes.destroy();
    });
    proxyRes.pipe(res);
  }

  return (req, res) => {
    // A client gone before its request is sent on has no address to forward, and nobody to read NetBox's answer.
    if (req.socket.remoteAddress === undefined) {
      res.destroy();
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
      refuseOversizedBody(req, res, TOO_LARGE);
      return;
    }
    const user = req.session?.user;
    const exchange: Exchange = { req, res, user, siteOrigins: [netboxOrigin, effectiveOrigin(req)] };
    try {
      req.headers = upstreamHeaders(req, user);
    } catch (error) {
      fail(exchange, error, 502);
      return;
    }
    let body: BodyLimit | undefined;
    if (declaresBody(req.headers)) {
      body = new BodyLimit(MAX_BODY_BYTES, () => {
        exchange.tooLarge = true;
        exchange.upstream?.destroy();
        refuseOversizedBody(req, res, TOO_LARGE);
      });
      req.pipe(body);
    }
    res.on('close', () => {
      if (exchange.answered) return;
      // The client is gone (or was answered by the gateway) before NetBox answered: NetBox's request goes too.
      exchange.abandoned = true;
      exchange.upstream?.destroy();
    });
    send(exchange, body, agent);
  };

  /** One request to NetBox; `through` is the pool, or false for a connection of its own. */
  function send(exchange: Exchange, body: BodyLimit | undefined, through: HttpAgent | false): void {
    const { req } = exchange;
    let upstream: ClientRequest;
    try {
      upstream = sendRequest({
        protocol: options.netboxUrl.protocol,
        hostname: options.netboxUrl.hostname,
        port: options.netboxUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: through,
      });
    } catch (error) {
      // http.request refuses a header value it cannot send before anything leaves the gateway.
      fail(exchange, error, 502);
      return;
    }
    exchange.upstream = upstream;
    upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => upstream.destroy(Object.assign(new Error('NetBox did not answer in time'), { code: 'ETIMEDOUT' })));
    upstream.on('response', (proxyRes: IncomingMessage) => {
      try {
        answerFromNetbox(exchange, proxyRes);
      } catch (error) {
        proxyRes.destroy();
        fail(exchange, error, 502);
      }
    });
    upstream.on('error', (error: Error) => {
      if (exchange.tooLarge || exchange.abandoned || exchange.upstream !== upstream) return;
      if (mayResend(exchange, error)) {
        exchange.retried = true;
        // NetBox closed a kept-alive connection as the request went out: it never saw it. Once, on a new connection.
        send(exchange, undefined, false);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      fail(exchange, error, code === 'ETIMEDOUT' || code === 'ECONNRESET' ? 504 : 502);
    });
    if (body === undefined) upstream.end();
    else body.pipe(upstream);
  }
}

function mayResend(exchange: Exchange, error: Error): boolean {
  const { req, res, upstream } = exchange;
  const code = (error as NodeJS.ErrnoException).code;
  return (
    upstream?.reusedSocket === true &&
    (code === 'ECONNRESET' || code === 'EPIPE') &&
    !exchange.retried &&
    !exchange.answered &&
    !res.headersSent &&
    RETRIABLE_METHODS.has(req.method) &&
    !declaresBody(req.headers)
  );
}

function declaresBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

const TOO_LARGE = 'Request body larger than 25 MB.';

/** NetBox's login redirect, for a signed-in user: its session is gone, so the gateway gets a new one. */
function reauthPath(loginLocation: string, requested: string): string {
  const next = new URL(loginLocation, 'http://gateway.invalid').searchParams.get('next') ?? requested;
  return `/-/reauth?next=${encodeURIComponent(next)}`;
}

/** HX-Location may be a JSON object whose `path` htmx follows; a plain value is a URL like Location. */
function localHtmxTarget(value: string, requestPath: string, siteOrigins: readonly string[]): string | undefined {
  if (!value.trimStart().startsWith('{')) return localLocation(value, requestPath, siteOrigins);
  let spec: unknown;
  try {
    spec = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof spec !== 'object' || spec === null || typeof (spec as { path?: unknown }).path !== 'string') return undefined;
  const path = localLocation((spec as { path: string }).path, requestPath, siteOrigins);
  return path === undefined ? undefined : JSON.stringify({ ...spec, path });
}

/** `Refresh: 5; url=...` redirects like Location does; its URL must stay on the site too. */
function localRefresh(value: string, requestPath: string, siteOrigins: readonly string[]): string | undefined {
  const match = /^\s*(\d+)\s*(?:[;,]\s*(?:url\s*=\s*)?(.*))?$/i.exec(value);
  if (match === null) return undefined;
  const [, delay, target] = match;
  if (target === undefined || target.trim() === '') return delay;
  const local = localLocation(target.trim().replace(/^(['"])(.*)\1$/, '$2'), requestPath, siteOrigins);
  return local === undefined ? undefined : `${delay}; url=${local}`;
}

/** Passes the body through while counting: declared lengths prove nothing about chunked bodies. */
class BodyLimit extends Transform {
  #seen = 0;

  constructor(
    private readonly limit: number,
    private readonly exceeded: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen <= this.limit) {
      done(null, chunk);
      return;
    }
    if (this.#seen - chunk.length <= this.limit) this.exceeded();
    done();
  }
}
