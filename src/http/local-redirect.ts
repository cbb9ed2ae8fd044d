const FALLBACK = '/';
const MAX_LENGTH = 2048;

/**
 * The `next` target a login may return to, or `/`. Only a path on this host passes: no scheme, no
 * `//host` or `/\host` (browsers treat both as another host), no control characters, and nothing that
 * turns into one of those once percent-decoded, because some clients and proxies decode before routing.
 * The gateway's own pages are refused too, so a login never loops back to itself.
 */
export function localRedirectTarget(candidate: unknown): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_LENGTH) return FALLBACK;
  if (!isLocalPath(candidate)) return FALLBACK;
  let decoded = candidate;
  // Twice, because double-encoded `%252F` is a known trick against single decoding.
  for (let round = 0; round < 2; round += 1) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return FALLBACK;
    }
    if (!isLocalPath(decoded)) return FALLBACK;
  }
  const base = new URL('http://gateway.invalid');
  const resolved = new URL(candidate, base);
  if (resolved.origin !== base.origin) return FALLBACK;
  // Dot segments are removed while resolving: `/.//evil.example` comes out as `//evil.example`.
  if (!isLocalPath(resolved.pathname)) return FALLBACK;
  if (resolved.pathname === '/-' || resolved.pathname.startsWith('/-/')) return FALLBACK;
  return resolved.pathname + resolved.search + resolved.hash;
}

function isLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !path.includes('\\') && !/[\u0000-\u001f\u007f]/.test(path);
}
