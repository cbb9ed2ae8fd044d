/**
 * Client-side TLS shared by TACACS+ over TLS (RFC 9887) and RadSec (RFC 6614): certificate files read once, and
 * connection options that always verify the server against the configured CA and name. Each protocol picks its
 * own TLS versions.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureVersion } from 'node:tls';

import type { TlsClientConfig } from '../config/types.js';

/** PEM material read once at start-up, so a missing or unreadable file stops the gateway instead of a login. */
export interface TlsMaterial {
  /** undefined: Node's default trust store. */
  readonly ca: Buffer | undefined;
  readonly serverName: string | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/** `protocol` names the setting in errors, e.g. "RadSec". */
export function loadTlsMaterial(config: TlsClientConfig, protocol: string): TlsMaterial {
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw new RangeError(`${protocol}: a client certificate needs both certFile and keyFile`);
  }
  const read = (file: string | undefined): Buffer | undefined => (file === undefined ? undefined : readFileSync(file));
  const material = { ca: read(config.caFile), serverName: config.serverName, cert: read(config.certFile), key: read(config.keyFile) };
  try {
    // Parses the PEM now: a file that is no certificate, or a key that does not match, would otherwise throw
    // from inside a login.
    createSecureContext({ ca: material.ca, cert: material.cert, key: material.key });
    // OpenSSL skips whatever in a CA file is no certificate, so a wrong file would silently trust nothing.
    if (material.ca !== undefined) new X509Certificate(material.ca);
  } catch (error) {
    throw new TlsMaterialError(`${protocol}: the CA, certificate or key file cannot be used: ${(error as Error).message}`, { cause: error });
  }
  return material;
}

/** Certificate files that exist but do not hold usable PEM (a configuration error, found at start-up). */
export class TlsMaterialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsMaterialError';
  }
}

export interface TlsVersions {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
}

export function tlsConnectOptions(host: string, port: number, material: TlsMaterial, versions: TlsVersions): ConnectionOptions {
  const expected = material.serverName ?? host;
  return {
    host,
    port,
    ...versions,
    rejectUnauthorized: true,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    ...(material.cert === undefined ? {} : { cert: material.cert, key: material.key }),
    // SNI carries DNS names only (RFC 6066 §3); an IP address is still checked against the certificate below.
    ...(isIP(expected) === 0 ? { servername: expected } : {}),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(expected, cert),
  };
}

/** OpenSSL's verification codes and Node's name check: the certificate, not the network, is the problem. */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
]);

export function isCertificateError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && CERTIFICATE_ERRORS.has(code);
}
