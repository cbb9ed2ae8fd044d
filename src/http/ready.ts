import type { Request, Response } from 'express';
import type { ServerStatus } from '../aaa/types.js';

export interface ReadinessDeps {
  readonly aaaMethod: string;
  readonly aaaServers: () => readonly ServerStatus[];
  /** Resolves with NetBox's version, throws when NetBox does not answer. */
  readonly netboxVersion: () => Promise<string>;
  /** A load balancer may ask every second; NetBox is asked at most this often. */
  readonly netboxCheckIntervalMs: number;
  /** Operators (ADMIN_ALLOW_FROM) get each server's state; everyone else only whether the gateway is ready. */
  readonly showsDetailTo: (clientAddress: string) => boolean;
  /** The gateway is shutting down: a load balancer must send nobody new here. */
  readonly draining: () => boolean;
  /** With SESSION_STORE=redis: whether Redis is reachable, and why not. */
  readonly redis: (() => { readonly up: boolean; readonly error: string | undefined }) | undefined;
}

interface NetboxCheck {
  readonly at: number;
  readonly ok: boolean;
  readonly version?: string;
  readonly error?: string;
}

/**
 * `/-/ready`: whether this gateway can sign anybody in right now. 200 when at least one AAA server is not
 * held down as dead, NetBox answers and (with SESSION_STORE=redis) Redis is reachable; 503 otherwise, so a load balancer sends logins to another replica. The
 * detail (AAA server addresses, their last errors, NetBox's version) maps the network behind the gateway, so only
 * operators see it. Names and states only: no secrets, no user data.
 */
export function readinessHandler(deps: ReadinessDeps): (req: Request, res: Response) => Promise<void> {
  let last: NetboxCheck | undefined;
  let inFlight: Promise<NetboxCheck> | undefined;

  const checkNetbox = async (): Promise<NetboxCheck> => {
    if (last && Date.now() - last.at < deps.netboxCheckIntervalMs) return last;
    inFlight ??= deps
      .netboxVersion()
      .then(
        (version): NetboxCheck => ({ at: Date.now(), ok: true, version }),
        (error: unknown): NetboxCheck => ({ at: Date.now(), ok: false, error: error instanceof Error ? error.message : String(error) }),
      )
      .finally(() => {
        inFlight = undefined;
      });
    last = await inFlight;
    return last;
  };

  return async (req, res) => {
    const servers = deps.aaaServers();
    const netbox = await checkNetbox();
    // A server whose hold-down is over will be tried by the next login: usable, even before it answered again.
    const now = Date.now();
    const aaaUsable = servers.some((server) => server.state !== 'dead' || (server.deadUntil ?? 0) <= now);
    const draining = deps.draining();
    const redis = deps.redis?.();
    const ready = aaaUsable && netbox.ok && !draining && (redis === undefined || redis.up);
    res.status(ready ? 200 : 503);
    if (!deps.showsDetailTo(req.ip ?? '')) {
      res.json({ status: ready ? 'ready' : 'unavailable' });
      return;
    }
    res.json({
      status: ready ? 'ready' : 'unavailable',
      ...(draining ? { draining: true } : {}),
      aaa: {
        method: deps.aaaMethod,
        usable: aaaUsable,
        servers: servers.map((server) => ({
          name: server.name,
          state: server.state,
          ...(server.deadUntil === undefined ? {} : { deadUntil: new Date(server.deadUntil).toISOString() }),
          ...(server.lastError === undefined ? {} : { lastError: server.lastError }),
        })),
      },
      netbox: { ok: netbox.ok, ...(netbox.version ? { version: netbox.version } : {}), ...(netbox.error ? { error: netbox.error } : {}) },
      ...(redis === undefined ? {} : { redis: { ok: redis.up, ...(redis.error === undefined ? {} : { error: redis.error }) } }),
    });
  };
}
