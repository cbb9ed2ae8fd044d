import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/** The gateway form's synchronizer token, created once per session and kept in it. */
export function csrfTokenFor(req: Request): string {
  req.session.csrfToken ??= randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

export function csrfTokenMatches(req: Request, submitted: unknown): boolean {
  const expected = req.session.csrfToken;
  if (expected === undefined || typeof submitted !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** This site's origin as the browser sees it: scheme, host and port, per a trusted proxy's X-Forwarded-Proto/-Host. */
export function effectiveOrigin(req: Request): string {
  return new URL(`${req.protocol}://${req.host}`).origin;
}

/**
 * A cross-site POST that carries an Origin naming another origin (scheme, host or port) is refused even before
 * the token check, as Django does; a missing Origin (old browsers, privacy settings) falls back to the token alone.
 */
export function originAllowed(req: Request): boolean {
  const origin = req.get('origin');
  return origin === undefined || isThisSite(origin, req);
}

/**
 * Whether this site's own pages made the request: Fetch Metadata where the browser sends it (HTTPS and localhost),
 * else Origin, else Referer (NetBox's and the gateway's pages send it to their own origin). Without any of them
 * nobody can tell, so the answer is no.
 */
export function cameFromThisSite(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = req.get('origin');
  if (origin !== undefined) return isThisSite(origin, req);
  const referer = req.get('referer');
  return referer !== undefined && isThisSite(referer, req);
}

function isThisSite(url: string, req: Request): boolean {
  try {
    return new URL(url).origin === effectiveOrigin(req);
  } catch {
    return false;
  }
}
