import type { AaaConfig, TacacsConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { FailoverAuthenticator } from '../failover.js';
import { serverName, type Accounting } from '../types.js';
import { TacacsAccounting } from './accounting.js';
import { HANDLED_MANDATORY_ARGUMENTS } from './authorization.js';
import { TacacsClient } from './client.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import type { Endpoint } from './transport.js';
import type { DeadServerStore } from '../dead-servers.js';

/**
 * The TACACS+ front door: one client per configured server, asked in order by the failover chain. Without
 * `health` no server is ever held down (the chain as it was before dead-server handling). `roleAttributes` are
 * the argument names the role rules read: a server may send them as mandatory arguments (RFC 8907 §6.1).
 */
export function createTacacsAuthenticator(
  config: TacacsConfig,
  loginDeadlineMs: number,
  logger: Logger,
  health?: Pick<AaaConfig, 'deadTimeMs' | 'probeIntervalMs'> & { readonly deadServers?: DeadServerStore | undefined },
  roleAttributes: readonly string[] = [],
): FailoverAuthenticator {
  const handledMandatoryArguments = [...new Set([...HANDLED_MANDATORY_ARGUMENTS, ...roleAttributes])];
  const servers = endpoints(config).map(
    (endpoint) =>
      new TacacsClient({
        endpoint,
        timeoutMs: config.timeoutMs,
        authType: config.authType,
        service: config.service,
        portName: config.portName,
        authorization: config.authorization,
        handledMandatoryArguments,
        logger,
      }),
  );
  return new FailoverAuthenticator(servers, {
    deadlineMs: loginDeadlineMs,
    ...(health === undefined ? {} : { deadTimeMs: health.deadTimeMs, ...(config.probe ? { probeIntervalMs: health.probeIntervalMs } : {}) }),
    ...(health?.deadServers === undefined ? {} : { deadServers: health.deadServers }),
    logger,
  });
}

/** START/STOP records to the same servers; undefined when accounting is off. */
export function createTacacsAccounting(config: TacacsConfig, logger: Logger): Accounting | undefined {
  if (!config.accounting) return undefined;
  return new TacacsAccounting({
    endpoints: endpoints(config),
    timeoutMs: config.timeoutMs,
    authType: config.authType,
    service: config.service,
    portName: config.portName,
    logger,
  });
}

/** TLS files are read here, once: a missing CA or key stops start-up instead of failing every login. */
function endpoints(config: TacacsConfig): Endpoint[] {
  let material: TlsMaterial | undefined;
  return config.servers.map((server) => ({
    name: serverName(server),
    host: server.host,
    port: server.port,
    transport: server.tls ? { kind: 'tls', material: (material ??= loadTlsMaterial(config.tls)) } : { kind: 'tcp', key: config.secret },
  }));
}
