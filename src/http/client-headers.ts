/** NetBox's own cookies: the browser may never present them, only the gateway's jar may. */
export const NETBOX_COOKIE_NAMES = ['sessionid', 'csrftoken'] as const;

/** The Cookie header minus the named cookies; undefined when nothing is left. */
export function withoutCookies(cookieHeader: string | undefined, drop: ReadonlySet<string>): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const kept = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !drop.has(part.split('=', 1)[0]?.trim() ?? ''));
  return kept.length > 0 ? kept.join('; ') : undefined;
}
