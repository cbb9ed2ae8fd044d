/**
 * TACACS+ over TLS (RFC 9887): TLS 1.3 only (§3.2), the handshake starts at once on its own port (§3.1), the server
 * certificate is checked against the configured CA and name (§3.4), and a client certificate is offered when
 * configured (mutual authentication, §3.3). The mechanics are shared with RadSec in ../tls.ts.
 */
import type { ConnectionOptions } from 'node:tls';

import type { TlsClientConfig } from '../../config/types.js';
import { loadTlsMaterial as loadShared, tlsConnectOptions as sharedOptions, type TlsMaterial } from '../tls.js';

export { isCertificateError, type TlsMaterial } from '../tls.js';

export function loadTlsMaterial(config: TlsClientConfig): TlsMaterial {
  return loadShared(config, 'TACACS+ TLS');
}

export function tlsConnectOptions(host: string, port: number, material: TlsMaterial): ConnectionOptions {
  return sharedOptions(host, port, material, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
}
