import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The session cookie's value: `s:` + the session ID + `.` + its HMAC-SHA256 under SESSION_SECRET (base64, no
 * padding), URL-encoded. This is the format express-session wrote, so sessions survive an upgrade from it.
 */
export function newSessionId(): string {
  // 192 bits from the OS's generator: not guessable, and what express-session used.
  return randomBytes(24).toString('base64url');
}

export function signedCookieValue(sid: string, secret: string): string {
  return encodeURIComponent(`s:${sid}.${mac(sid, secret)}`);
}

/** The session ID a cookie value carries, when its signature is the gateway's; anything else is no session. */
export function verifiedSessionId(value: string, secret: string): string | undefined {
  let decoded = value;
  if (decoded.length > 1 && decoded.startsWith('"') && decoded.endsWith('"')) decoded = decoded.slice(1, -1);
  if (decoded.includes('%')) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return undefined;
    }
  }
  if (!decoded.startsWith('s:')) return undefined;
  const dot = decoded.lastIndexOf('.');
  if (dot < 3) return undefined;
  const sid = decoded.slice(2, dot);
  const given = Buffer.from(decoded.slice(dot + 1));
  const expected = Buffer.from(mac(sid, secret));
  return given.length === expected.length && timingSafeEqual(given, expected) ? sid : undefined;
}

/** The first value of cookie `name` in a Cookie header, as browsers send it and as express-session read it. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) return header.slice(eq + 1, end).trim();
    start = end + 1;
  }
  return undefined;
}

function mac(sid: string, secret: string): string {
  return createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
}
