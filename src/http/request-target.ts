/** Why a request target was refused; the text goes into the 400 answer and the debug log. */
export type TargetProblem =
  | 'not an origin-form path'
  | 'characters outside printable ASCII'
  | 'a fragment'
  | 'a backslash'
  | 'a malformed percent escape'
  | 'an encoded slash, backslash or control character'
  | 'a dot segment';

export type CanonicalTarget = { readonly ok: true; readonly path: string; readonly url: string } | { readonly ok: false; readonly problem: TargetProblem };

/**
 * How many times a segment is percent-decoded when looking for dots and slashes: once is what Django and the static
 * file server do, the further rounds catch `%252e` for anything behind NetBox that decodes again.
 */
const DECODE_ROUNDS = 3;

/**
 * The one path every routing decision, and NetBox, sees. Browsers send targets already normalised and
 * percent-encoded, so anything else is an attack or a broken client and gets 400 rather than a guess at what it
 * means: each component that decodes differently (Django, express.static, Node's legacy `url.parse`, which turns `\`
 * into `/`) would otherwise route a different path than the one checked. Repeated slashes are merged, as nginx does.
 */
export function canonicalTarget(target: string): CanonicalTarget {
  if (!target.startsWith('/')) return { ok: false, problem: 'not an origin-form path' };
  if (!/^[\x21-\x7e]*$/.test(target)) return { ok: false, problem: 'characters outside printable ASCII' };
  if (target.includes('#')) return { ok: false, problem: 'a fragment' };
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (rawPath.includes('\\')) return { ok: false, problem: 'a backslash' };
  if (/%(?![0-9A-Fa-f]{2})/.test(rawPath)) return { ok: false, problem: 'a malformed percent escape' };

  const path = rawPath.replace(/\/{2,}/g, '/');
  for (const segment of path.split('/')) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return { ok: false, problem };
  }
  return { ok: true, path, url: path + query };
}

function segmentProblem(segment: string): TargetProblem | undefined {
  let decoded = segment;
  for (let round = 0; ; round += 1) {
    if (decoded === '.' || decoded === '..') return 'a dot segment';
    if (round > 0 && /[/\\\x00-\x1f\x7f]/.test(decoded)) return 'an encoded slash, backslash or control character';
    if (round === DECODE_ROUNDS || !decoded.includes('%')) return undefined;
    // Byte by byte, not decodeURIComponent: `%ff` is no UTF-8 but still a byte some decoder will produce.
    decoded = decoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}
