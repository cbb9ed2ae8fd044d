import { isIP } from 'node:net';
import type { HostPort } from './types.js';

/** `host`, `host:port`, `[v6]` or `[v6]:port`; a string is what is wrong with it. */
export function parseHostPort(entry: string, defaultPort: number): HostPort | string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+))(?::(\d{1,5}))?$/.exec(entry);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (host === undefined) {
    return `is not host[:port]${entry.split(':').length > 2 ? ' (write IPv6 addresses in brackets, e.g. [2001:db8::1]:1812)' : ''}`;
  }
  if (match?.[1] !== undefined && isIP(host) !== 6) return 'has brackets around something that is not an IPv6 address';
  if (port < 1 || port > 65535) return 'has a port outside 1-65535';
  return { host, port };
}
