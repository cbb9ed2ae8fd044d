/**
 * TACACS+ over TLS (RFC 9887): what the client needs to open one connection. TLS 1.3 only (§3.2), the handshake
 * starts at once on its own port (§3.1), the server certificate is checked against the configured CA and name
 * (§3.4), and a client certificate is offered when configured (mutual authentication, §3.3).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';

import type { TlsClientConfig } from '../../config/types.js';

/** PEM material read once at start-up, so a missing or unreadable file stops the gateway instead of a login. */
export interface TlsMaterial {
  /** undefined: Node's default trust store. */
  readonly ca: Buffer | undefined;
  readonly serverName: string | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

export function loadTlsMaterial(config: TlsClientConfig): TlsMaterial {
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw new RangeError('TACACS+ TLS: a client certificate needs both certFile and keyFile');
  }
  const read = (file: string | undefined): Buffer | undefined => (file === undefined ? undefined : readFileSync(file));
  return { ca: read(config.caFile), serverName: config.serverName, cert: read(config.certFile), key: read(config.keyFile) };
}

export function tlsConnectOptions(host: string, port: number, material: TlsMaterial): ConnectionOptions {
  const expected = material.serverName ?? host;
  return {
    host,
    port,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
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
