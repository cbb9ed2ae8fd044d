import type { RadiusConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { FailoverAuthenticator } from '../failover.js';
import type { Authenticator } from '../types.js';
import { RadiusClient } from './client.js';

/** The RADIUS front door: one client per configured server, asked in order by the failover chain. */
export function createRadiusAuthenticator(config: RadiusConfig, loginDeadlineMs: number, logger: Logger): Authenticator {
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
  return new FailoverAuthenticator(servers, { deadlineMs: loginDeadlineMs, logger });
}
