import type { IncomingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';
import { canonicalTarget } from './request-target.js';

/** A DNS name (underscores allowed: compose service names have them), IPv4, or a bracketed IPv6 literal; optional port. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?|\[([0-9A-Fa-f:.]+)\])(?::([0-9]{1,5}))?$/;

/** Hop-by-hop by definition (RFC 9110 §7.6.1, and the older ones proxies still send). */
export const HOP_BY_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'];

/**
 * What `Connection` may not remove: the framing of the request, the Host every later check reads, and what the
 * gateway itself reads or sets on the way to NetBox. A trusted proxy's X-Forwarded-* decide the client's address
 * (regulation, /-/ready, token allowed_ips) and scheme (Secure cookies), so a client that names them in a
 * Connection header its proxy passes on must not be able to remove them.
 */
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding', 'cookie', 'forwarded', 'x-real-ip']);

export interface RequestHygieneOptions {
  /** The configured remote-user and group header names, stripped from every client in both modes. */
  readonly identityHeaders: readonly string[];
  readonly logger: Logger;
}

/**
 * The first policy every request meets. It refuses what no browser sends and what would let one component see
 * a different request than another: a missing or malformed Host, protocol upgrades, request targets that are not
 * one clean path (see canonicalTarget). It then removes what is only the client's to say: hop-by-hop headers and
 * any identity header NetBox would believe. After it, `req.url` is the canonical target that routing and NetBox use.
 */
export function requestHygiene(options: RequestHygieneOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const refuse = (message: string) => {
      options.logger.debug({ method: req.method, target: req.url.slice(0, 200), reason: message }, 'refused a malformed request');
      res.status(400).set('Connection', 'close').type('text/plain').send(`Bad request: ${message}.`);
    };
    if (req.headers.upgrade !== undefined) return refuse('protocol upgrades (WebSocket, h2c) are not supported');
    const transferEncoding = req.headers['transfer-encoding'];
    if (transferEncoding !== undefined) {
      // As nginx: any other coding would change what the body means once the gateway has de-chunked it.
      if (transferEncoding.trim().toLowerCase() !== 'chunked') {
        res.status(501).set('Connection', 'close').type('text/plain').send('Only the chunked transfer coding is supported.');
        return;
      }
      // Proxies disagree on whether a DELETE or OPTIONS without Content-Length has a body (http-proxy, which the gateway
      // once used, declared it empty and sent the chunks after it, as the next request): refused, never guessed.
      if (req.method === 'DELETE' || req.method === 'OPTIONS') {
        res.status(411).set('Connection', 'close').type('text/plain').send(`A ${req.method} body needs a Content-Length.`);
        return;
      }
    }

    const target = canonicalTarget(req.url);
    if (!target.ok) return refuse(`the request target has ${target.problem}`);
    req.url = target.url;
    req.originalUrl = target.url;

    dropHopByHop(req.headers);
    stripIdentityHeaders(req.headers, options.identityHeaders);
    dropUnderscoredNames(req.headers);

    // After dropping hop-by-hop headers: `Connection: host` must not leave a request without one.
    if (!usableHost(req.headers.host)) return refuse('no usable Host header');
    // With TRUSTED_PROXIES these come from X-Forwarded-Host/-Proto; they end up in NetBox's links and the origin check.
    if (!usableHost(req.host)) return refuse('no usable forwarded host');
    if (req.protocol !== 'http' && req.protocol !== 'https') return refuse('an unknown forwarded protocol');
    next();
  };
}

export function usableHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const match = HOST.exec(host);
  if (match === null) return false;
  const [, ipv6, port] = match;
  return (ipv6 === undefined || isIPv6(ipv6)) && (port === undefined || Number(port) <= 65535);
}

/**
 * Drops the headers the client named in `Connection`, then the hop-by-hop ones. Only whether the client wants the
 * connection closed is kept, because the response's Connection header is derived from it.
 */
function dropHopByHop(headers: IncomingHttpHeaders): void {
  const tokens = (headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
  for (const token of tokens) {
    if (!PROTECTED.has(token) && !token.startsWith('x-forwarded-')) delete headers[token];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  if (tokens.includes('close')) headers.connection = 'close';
}

/**
 * Removes every spelling of the remote-user header family (NetBox's defaults, and the configured user and group
 * headers): NetBox trusts them from anyone, and Django maps `-` and `_` alike, so any case and either separator
 * counts. Forwarding headers stay, because express reads them (per TRUSTED_PROXIES) to learn the client's address;
 * the proxy replaces them on the way to NetBox.
 */
export function stripIdentityHeaders(headers: IncomingHttpHeaders, identityHeaders: readonly string[]): void {
  const configured = new Set(identityHeaders.map(normaliseHeaderName));
  for (const name of Object.keys(headers)) {
    const normalised = normaliseHeaderName(name);
    if (configured.has(normalised) || normalised.startsWith('remote-user')) delete headers[name];
  }
}

/**
 * Header names with `_`, as nginx drops them (underscores_in_headers off): WSGI servers turn `_` and `-` into the
 * same variable, so `X-Real_IP` would land beside the gateway's own X-Real-IP, and which one NetBox believes would
 * depend on the server.
 */
function dropUnderscoredNames(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) if (name.includes('_')) delete headers[name];
}

function normaliseHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}
