import type { AaaConfig, RadiusConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { FailoverAuthenticator } from '../failover.js';
import type { Authenticator } from '../types.js';
import { RadiusClient } from './client.js';

/** The RADIUS front door: one client per configured server, asked in order by the failover chain. */
export function createRadiusAuthenticator(
  config: RadiusConfig,
  loginDeadlineMs: number,
  logger: Logger,
  health?: Pick<AaaConfig, 'deadTimeMs' | 'probeIntervalMs'>,
): Authenticator {
  const servers = config.servers.map(
    (server) =>
      new RadiusClient({
        server,
        secret: config.secret,
        timeoutMs: config.timeoutMs,
        retries: config.retries,
        nasIdentifier: config.nasIdentifier,
        logger,
      }),
  );
  return new FailoverAuthenticator(servers, {
    deadlineMs: loginDeadlineMs,
    // The answer to a challenge waits challengeTimeoutMs per try; a second more for the last reply to arrive.
    respondDeadlineMs: config.challengeTimeoutMs * config.retries + 1_000,
    ...(health === undefined ? {} : { deadTimeMs: health.deadTimeMs, ...(config.probe ? { probeIntervalMs: health.probeIntervalMs } : {}) }),
    logger,
  });
}
