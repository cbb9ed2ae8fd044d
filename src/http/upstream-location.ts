/**
 * What the browser receives: a path on this site. Printable ASCII only, one leading slash and no backslash, so no
 * browser can read it as another host (`//host`, `/\host`) or a scheme, and no decoder can turn it into one.
 */
const CLEAN_LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/**
 * A NetBox redirect target as a path on the gateway, or undefined when it leads anywhere else.
 *
 * The value is read the way a browser reads it (WHATWG URL parsing, which strips leading and trailing C0 controls
 * and spaces, drops tabs and newlines, and treats `\` as `/`), relative to the page NetBox answered. Only NetBox's
 * own origin and the gateway's public origin (NetBox builds absolute URLs from X-Forwarded-Host) count as this
 * site; the result is then re-serialised as a clean local path, so whatever NetBox echoed from a `return_url`
 * cannot leave the site even where a browser would parse it differently than this function.
 */
export function localLocation(location: string, requestPath: string, siteOrigins: readonly string[]): string | undefined {
  const [ownOrigin] = siteOrigins;
  if (ownOrigin === undefined) return undefined;
  let target: URL;
  try {
    target = new URL(location, new URL(requestPath, ownOrigin));
  } catch {
    return undefined;
  }
  if (!siteOrigins.includes(target.origin)) return undefined;
  // `/.//evil.example` resolves to the path `//evil.example`: keep one slash, stay here.
  const local = `/${target.pathname.replace(/^\/+/, '')}${target.search}${target.hash}`;
  return CLEAN_LOCAL_PATH.test(local) ? local : undefined;
}
