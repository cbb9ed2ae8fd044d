import type { IncomingHttpHeaders } from 'node:http';

/** NetBox's own cookies: the browser may never present them, only the gateway's jar may. */
export const NETBOX_COOKIE_NAMES = ['sessionid', 'csrftoken'] as const;

/**
 * Removes every spelling of the remote-user header family (NetBox's defaults, and the configured user and group
 * headers) from a browser's request: NetBox trusts them from
 * anyone, and Django maps `-` and `_` alike, so any case and either separator counts. Forwarding headers
 * are not touched here because express reads them (per TRUSTED_PROXIES) to learn the client's address;
 * the proxy replaces them on the way to NetBox.
 */
export function stripRemoteUserHeaders(headers: IncomingHttpHeaders, identityHeaders: readonly string[]): void {
  const configured = new Set(identityHeaders.map(normalise));
  for (const name of Object.keys(headers)) {
    const normalised = normalise(name);
    if (configured.has(normalised) || normalised.startsWith('remote-user')) delete headers[name];
  }
}

function normalise(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** The Cookie header minus the named cookies; undefined when nothing is left. */
export function withoutCookies(cookieHeader: string | undefined, drop: ReadonlySet<string>): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const kept = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !drop.has(part.split('=', 1)[0]?.trim() ?? ''));
  return kept.length > 0 ? kept.join('; ') : undefined;
}
