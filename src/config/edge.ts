import { isIP } from 'node:net';
import type { EnvReader } from './env-reader.js';
import type { EdgeConfig } from './types.js';

const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** What the gateway does as the front door: connection limits, HSTS, and who sees operator detail. */
export function readEdgeConfig(read: EnvReader): EdgeConfig {
  const adminAllowFrom = read.list('ADMIN_ALLOW_FROM', ['loopback']);
  for (const entry of adminAllowFrom) {
    if (!isAddressRange(entry, ['loopback'])) read.problem('ADMIN_ALLOW_FROM', `"${entry}" is not an IP address, a CIDR range or loopback`);
  }
  const headersTimeoutMs = read.duration('HEADERS_TIMEOUT', 10 * SECOND, { bareUnit: 's', minMs: 100, maxMs: 5 * 60 * SECOND });
  const keepAliveTimeoutMs = read.duration('KEEPALIVE_TIMEOUT', 5 * SECOND, { bareUnit: 's', minMs: 100, maxMs: 10 * 60 * SECOND });
  return {
    maxConnections: read.integer('MAX_CONNECTIONS', 10_000, { min: 1, max: 1_000_000 }),
    headersTimeoutMs,
    keepAliveTimeoutMs,
    hstsMaxAgeSeconds: Math.round(read.duration('HSTS_MAX_AGE', 365 * DAY, { bareUnit: 's', minMs: 0, maxMs: 2 * 365 * DAY }) / SECOND),
    adminAllowFrom,
  };
}

/** An IP address, a CIDR range, or one of the named ranges a caller accepts. */
export function isAddressRange(entry: string, names: readonly string[]): boolean {
  if (names.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  if (address === undefined || rest.length > 0) return false;
  const family = isIP(address);
  if (family === 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}
