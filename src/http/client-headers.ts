import type { IncomingHttpHeaders } from 'node:http';

/** NetBox's own cookies: the browser may never present them, only the gateway's jar may. */
export const NETBOX_COOKIE_NAMES = ['sessionid', 'csrftoken'] as const;

/**
 * Removes every spelling of the remote-user header family from a browser's request: NetBox trusts it from
 * anyone, and Django maps `-` and `_` alike, so any case and either separator counts. Forwarding headers
 * are not touched here because express reads them (per TRUSTED_PROXIES) to learn the client's address;
 * the proxy replaces them on the way to NetBox.
 */
export function stripRemoteUserHeaders(headers: IncomingHttpHeaders, remoteUserHeader: string): void {
  const configured = normalise(remoteUserHeader);
  for (const name of Object.keys(headers)) {
    const normalised = normalise(name);
    if (normalised === configured || normalised.startsWith('remote-user')) delete headers[name];
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
