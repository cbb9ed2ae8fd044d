import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import httpProxy from 'http-proxy';
import type { Logger } from '../log.js';
import { applySetCookies, cookieHeader } from '../netbox/cookies.js';
import { NETBOX_COOKIE_NAMES, withoutCookies } from './client-headers.js';

/** NetBox's nginx sample allows 25 MB bodies; gunicorn's timeout is 120 s. */
const MAX_BODY_BYTES = 25 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 120_000;

export interface NetboxProxyOptions {
  readonly netboxUrl: URL;
  readonly sessionCookieName: string;
  /**
   * Set in remote-user mode: NetBox logs the user in again by itself whenever its session has gone, and syncs
   * groups (and superuser) from the group header when it does.
   */
  readonly remoteUser: { readonly header: string; readonly groupHeader: string; readonly groupSeparator: string } | undefined;
  readonly logger: Logger;
  /** Renders the page a browser sees when NetBox cannot be reached. */
  readonly renderUnavailable: (req: Request, res: Response, status: number) => void;
}

/**
 * The one way requests reach NetBox. For a signed-in user the gateway presents that user's NetBox cookies
 * (and in remote-user mode the identity header), captures every cookie NetBox sets into the gateway session,
 * and turns NetBox's "please log in" redirect into the gateway's transparent re-login. Requests without a
 * user (static files, token-authenticated API calls) pass with no identity added.
 */
export function createNetboxProxy(options: NetboxProxyOptions): (req: Request, res: Response) => void {
  const netboxOrigin = options.netboxUrl.origin;
  const dropFromBrowser = new Set<string>([...NETBOX_COOKIE_NAMES, options.sessionCookieName]);

  const server = httpProxy.createProxyServer({
    target: netboxOrigin,
    // Host names NetBox's own address, as nginx's proxy_pass does; the public host travels in X-Forwarded-Host.
    changeOrigin: true,
    xfwd: false,
    proxyTimeout: UPSTREAM_TIMEOUT_MS,
    timeout: UPSTREAM_TIMEOUT_MS,
  });
  server.on('proxyReq', (proxyReq: ClientRequest, req) => prepareUpstreamRequest(proxyReq, req as Request));
  server.on('proxyRes', (proxyRes: IncomingMessage, req) => adoptUpstreamResponse(proxyRes, req as Request));
  const onError = (error: Error, req: Request, res: Response | Socket) => {
    const code = (error as NodeJS.ErrnoException).code;
    options.logger.error({ path: req.path, code, error: error.message }, 'NetBox did not answer a proxied request');
    if (!('status' in res)) return;
    if (res.headersSent) res.destroy();
    else options.renderUnavailable(req, res, code === 'ECONNRESET' || code === 'ETIMEDOUT' ? 504 : 502);
  };

  function prepareUpstreamRequest(proxyReq: ClientRequest, req: Request): void {
    const user = req.session?.user;
    const cookies = withoutCookies(req.get('cookie'), user ? new Set([...dropFromBrowser, ...Object.keys(user.netboxCookies)]) : dropFromBrowser);
    const combined = [cookies, user ? cookieHeader(user.netboxCookies) : undefined].filter((part) => part !== undefined && part !== '').join('; ');
    if (combined === '') proxyReq.removeHeader('cookie');
    else proxyReq.setHeader('cookie', combined);

    // The gateway's own view, which honours X-Forwarded-* only from TRUSTED_PROXIES.
    proxyReq.removeHeader('forwarded');
    proxyReq.removeHeader('x-forwarded-port');
    proxyReq.setHeader('x-forwarded-host', req.host);
    proxyReq.setHeader('x-forwarded-proto', req.protocol);
    // req.ips is the trusted part of the client's chain (empty without TRUSTED_PROXIES); the peer comes last.
    proxyReq.setHeader('x-forwarded-for', [...req.ips, req.socket.remoteAddress].filter(Boolean).join(', '));
    proxyReq.setHeader('x-real-ip', req.ip ?? '');
    if (user && options.remoteUser) {
      proxyReq.setHeader(options.remoteUser.header, user.username);
      proxyReq.setHeader(options.remoteUser.groupHeader, user.groups.join(options.remoteUser.groupSeparator));
    }
  }

  function adoptUpstreamResponse(proxyRes: IncomingMessage, req: Request): void {
    const setCookies = proxyRes.headers['set-cookie'];
    delete proxyRes.headers['set-cookie'];
    const user = req.session?.user;
    if (user && setCookies) user.netboxCookies = applySetCookies(user.netboxCookies, setCookies);

    const location = proxyRes.headers.location;
    if (location === undefined) return;
    let target: URL;
    try {
      target = new URL(location, `${netboxOrigin}${req.path}`);
    } catch {
      // Not a URL at all: nothing to rewrite, and nothing the browser could follow anywhere else either.
      return;
    }
    if (target.origin !== netboxOrigin) return;
    if (user && target.pathname === '/login/') {
      const next = target.searchParams.get('next') ?? req.originalUrl;
      proxyRes.headers.location = `/-/reauth?next=${encodeURIComponent(next)}`;
    } else {
      // NetBox builds absolute URLs from its own host when X-Forwarded-Host is not in use; keep the browser here.
      // Collapsing leading slashes keeps `//evil.example/` (which NetBox may take from a return_url) local.
      proxyRes.headers.location = `/${target.pathname.replace(/^[/\\]+/, '')}${target.search}${target.hash}`;
    }
  }

  return (req, res) => {
    const length = Number(req.get('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) {
      res.status(413).type('text/plain').send('Request body larger than 25 MB.');
      return;
    }
    server.web(req, res, {}, (error) => onError(error, req, res));
  };
}
