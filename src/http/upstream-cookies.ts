/** NetBox's own cookies: the browser may never present them, only the gateway's jar may. */
export const NETBOX_COOKIE_NAMES = ['sessionid', 'csrftoken'] as const;

/**
 * Python's str.strip() set within Latin-1: a header reaches Django (WSGI) and Node as Latin-1 text, and Django strips
 * cookie names with str.strip(), which also strips \x1c-\x1f, \x85 and \xa0, none of which JavaScript's trim()
 * knows (and \x85 is not even whitespace to it). A name only this set reduces to `sessionid` is still `sessionid`.
 */
const PYTHON_WHITESPACE = new Set(['\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0']);

function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PYTHON_WHITESPACE.has(text[start]!)) start += 1;
  while (end > start && PYTHON_WHITESPACE.has(text[end - 1]!)) end -= 1;
  return text.slice(start, end);
}

/**
 * The Cookie header to send NetBox: the client's cookies as Django's `parse_cookie` reads them, minus every one named
 * in `drop` (exact case, as Django compares) and minus nameless ones, rebuilt as `name=value; ...`. Parsing the way
 * the reader does means no spelling of a dropped cookie can pass the filter yet reach NetBox under that name.
 * Undefined when nothing is left.
 */
export function upstreamCookieHeader(clientCookie: string | undefined, drop: ReadonlySet<string>): string | undefined {
  if (clientCookie === undefined) return undefined;
  const kept: string[] = [];
  for (const chunk of clientCookie.split(';')) {
    const eq = chunk.indexOf('=');
    // django.http.cookie.parse_cookie: a chunk without `=` is a value with an empty name.
    if (eq === -1) continue;
    const name = pythonStrip(chunk.slice(0, eq));
    if (name === '' || drop.has(name)) continue;
    kept.push(`${name}=${pythonStrip(chunk.slice(eq + 1))}`);
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}
