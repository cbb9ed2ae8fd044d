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

/**
 * A cross-site POST that carries an Origin naming another host is refused even before the token check,
 * as Django does; a missing Origin (old browsers, privacy settings) falls back to the token alone.
 */
export function originAllowed(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.host;
  } catch {
    return false;
  }
}
