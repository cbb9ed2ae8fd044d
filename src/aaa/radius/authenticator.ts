import type { AaaConfig, RadiusConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { FailoverAuthenticator } from '../failover.js';
import { loadTlsMaterial, type TlsMaterial } from '../tls.js';
import type { Accounting, Authenticator } from '../types.js';
import { RadiusAccounting } from './accounting.js';
import { RadiusClient } from './client.js';
import type { DeadServerStore } from '../dead-servers.js';

/**
 * The RADIUS front door: one client per configured server, asked in order by the failover chain. Every client can
 * be probed with Status-Server; whether dead servers are probed is `config.probe`, the chain's decision.
 */
export function createRadiusAuthenticator(
  config: RadiusConfig,
  loginDeadlineMs: number,
  logger: Logger,
  health?: Pick<AaaConfig, 'deadTimeMs' | 'probeIntervalMs'> & { readonly deadServers?: DeadServerStore | undefined },
): Authenticator {
  const tls = tlsFor(config);
  const servers = config.servers.map(
    (server) =>
      new RadiusClient({
        server,
        secret: config.secret,
        tls: server.transport === 'radsec' ? tls() : undefined,
        sourceAddress: config.sourceAddress,
        timeoutMs: config.timeoutMs,
        retries: config.retries,
        challengeTimeoutMs: config.challengeTimeoutMs,
        nasIdentifier: config.nasIdentifier,
        nasIpAddress: config.nasIpAddress,
        logger,
      }),
  );
  return new FailoverAuthenticator(servers, {
    deadlineMs: loginDeadlineMs,
    // The answer to a challenge waits challengeTimeoutMs per try; a second more for the last reply to arrive.
    respondDeadlineMs: config.challengeTimeoutMs * config.retries + 1_000,
    ...(health === undefined ? {} : { deadTimeMs: health.deadTimeMs, ...(config.probe ? { probeIntervalMs: health.probeIntervalMs } : {}) }),
    ...(health?.deadServers === undefined ? {} : { deadServers: health.deadServers }),
    logger,
  });
}

/** Start/Stop records to the accounting servers; undefined when accounting is off. */
export function createRadiusAccounting(config: RadiusConfig, logger: Logger): Accounting | undefined {
  if (!config.accounting.enabled) return undefined;
  const tls = tlsFor(config);
  return new RadiusAccounting({
    servers: config.accounting.servers,
    secret: config.secret,
    tls: config.accounting.servers.some((server) => server.transport === 'radsec') ? tls() : undefined,
    sourceAddress: config.sourceAddress,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    nasIdentifier: config.nasIdentifier,
    nasIpAddress: config.nasIpAddress,
    logger,
  });
}

/** Certificate files are read here, once, and only when a RadSec server needs them: a missing file stops start-up. */
function tlsFor(config: RadiusConfig): () => TlsMaterial {
  let material: TlsMaterial | undefined;
  return () => (material ??= loadTlsMaterial(config.tls, 'RadSec'));
}
