import type { NetboxCookieJar } from './types.js';

/** The jar after NetBox's Set-Cookie headers: new values replace old ones; cookies set empty, with Max-Age=0 or an expiry in the past leave. */
export function applySetCookies(jar: NetboxCookieJar, setCookies: readonly string[]): NetboxCookieJar {
  const next: Record<string, string> = { ...jar };
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = '', raw = ''] = attribute.split('=', 2).map((part) => part.trim());
      if (key.toLowerCase() === 'max-age') return Number(raw) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(raw) <= Date.now();
      return false;
    });
    if (expired || value === '' || value === '""') delete next[name];
    else next[name] = value;
  }
  return next;
}

/** The jar as a Cookie header value. */
export function cookieHeader(jar: NetboxCookieJar): string {
  return Object.entries(jar)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
}
