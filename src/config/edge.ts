import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { DAY, SECOND, type EnvReader } from './env-reader.js';
import type { EdgeConfig, ListenerTls } from './types.js';

/** What the gateway does as the front door: connection limits, HSTS, and who sees operator detail. */
export function readEdgeConfig(read: EnvReader): EdgeConfig {
  const adminAllowFrom = read.list('ADMIN_ALLOW_FROM', ['loopback']);
  for (const entry of adminAllowFrom) {
    if (!isAddressRange(entry, ['loopback'])) read.problem('ADMIN_ALLOW_FROM', `"${entry}" is not an IP address, a CIDR range or loopback`);
  }
  const headersTimeoutMs = read.duration('HEADERS_TIMEOUT', 10 * SECOND, { bareUnit: 's', minMs: 100, maxMs: 5 * 60 * SECOND });
  const keepAliveTimeoutMs = read.duration('KEEPALIVE_TIMEOUT', 5 * SECOND, { bareUnit: 's', minMs: 100, maxMs: 10 * 60 * SECOND });
  const tls = readListenerTls(read);
  const httpRedirectPort = read.raw('HTTP_REDIRECT_PORT') === undefined ? undefined : read.integer('HTTP_REDIRECT_PORT', 0, { min: 1, max: 65535 });
  if (httpRedirectPort !== undefined && tls === undefined) {
    read.problem('HTTP_REDIRECT_PORT', 'redirects to HTTPS, so it needs TLS_CERT_FILE and TLS_KEY_FILE');
  }
  return {
    tls,
    httpRedirectPort,
    shutdownGraceMs: read.duration('SHUTDOWN_GRACE', 25 * SECOND, { bareUnit: 's', minMs: 0, maxMs: 10 * 60 * SECOND }),
    maxConnections: read.integer('MAX_CONNECTIONS', 10_000, { min: 1, max: 1_000_000 }),
    headersTimeoutMs,
    keepAliveTimeoutMs,
    hstsMaxAgeSeconds: Math.round(read.duration('HSTS_MAX_AGE', 365 * DAY, { bareUnit: 's', minMs: 0, maxMs: 2 * 365 * DAY }) / SECOND),
    adminAllowFrom,
  };
}

/**
 * TLS_CERT_FILE and TLS_KEY_FILE, read and tried together at start, so a wrong file, a key that does not belong to
 * the certificate or an encrypted key stops the gateway with the variable named rather than at the first client.
 */
function readListenerTls(read: EnvReader): ListenerTls | undefined {
  const certFile = read.optionalString('TLS_CERT_FILE');
  const keyFile = read.optionalString('TLS_KEY_FILE');
  // choice() compares in lower case; Node wants the protocol's own spelling.
  const minVersion = ({ 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const)[read.choice('TLS_MIN_VERSION', ['tlsv1.2', 'tlsv1.3'] as const, 'tlsv1.2')];
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    read.problem(certFile === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE', 'goes with TLS_CERT_FILE / TLS_KEY_FILE: set both (PEM files) or neither');
    return undefined;
  }
  const cert = readPem(read, 'TLS_CERT_FILE', certFile, 'CERTIFICATE');
  const key = readPem(read, 'TLS_KEY_FILE', keyFile, 'PRIVATE KEY');
  if (cert === undefined || key === undefined) return undefined;
  try {
    createSecureContext({ cert, key, minVersion });
  } catch (error) {
    read.problem('TLS_KEY_FILE', `cannot be used with TLS_CERT_FILE: ${(error as Error).message}`);
    return undefined;
  }
  return { certFile, keyFile, minVersion };
}

function readPem(read: EnvReader, name: string, path: string, label: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    read.problem(name, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    read.problem(name, `${path} holds no PEM ${label.toLowerCase()}`);
    return undefined;
  }
  return text;
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
