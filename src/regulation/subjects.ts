import { isIP } from 'node:net';
import type { UsernameRules } from '../config/types.js';
import { netboxUsername } from '../login/username.js';

/**
 * The user a sign-in attempt is counted against: the NetBox user name it would sign in as, lower-cased because
 * NetBox finds users ignoring case (`Alice` and `alice` are one account). Undefined for a name NetBox cannot have.
 */
export function userSubject(typed: string, rules: UsernameRules): string | undefined {
  const name = netboxUsername(typed, rules);
  return name.ok ? name.name.toLowerCase() : undefined;
}

/**
 * The address a sign-in attempt is counted against: an IPv4 address as it is, also when it arrives IPv4-mapped
 * (`::ffff:192.0.2.7`), and an IPv6 address by its /64, because one subscriber (one attacker) gets a whole /64
 * and could otherwise take a fresh address for every guess.
 */
export function addressSubject(address: string): string | undefined {
  const zoneless = address.replace(/%.*$/, '');
  const family = isIP(zoneless);
  if (family === 4) return zoneless;
  // Only what a trusted proxy forwarded can be no address at all; it is still one client's value.
  if (family === 0) return address === '' ? undefined : address.toLowerCase();
  const groups = ipv6Groups(zoneless);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  // The WHATWG URL serialiser writes IPv6 in its one canonical (RFC 5952) form.
  const prefix = new URL(`http://[${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::]`).hostname.slice(1, -1);
  return `${prefix}/64`;
}

/** The eight 16-bit groups of an address `isIP` accepted as IPv6 (at most one `::`, maybe a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [, a, b, c, d] = dotted.map(Number) as [number, number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head, tail] = text.split('::');
  const left = parse(head);
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
