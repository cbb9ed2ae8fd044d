import { isIP } from 'node:net';
import { createClient, createSentinel, ErrorReply } from 'redis';
import type { RedisConfig } from '../config/types.js';
import type { Logger } from '../log.js';

/** Redis could not be reached, or did not answer in time: the request gets a 503, and nothing is half-done. */
export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
}

/** A command's answer as the client returns it (RESP2): strings, numbers, null, and arrays of them. */
export type RedisReply = string | number | null | RedisReply[];

/** The one Redis connection of a gateway process; the stores share it. */
export interface RedisConnection {
  /** Sends one command; RedisUnavailable when the server cannot be reached now or does not answer in time. */
  send(args: readonly string[]): Promise<RedisReply>;
  /** Whether the connection is up, and while it is not, the last error (for /-/ready; never holds a password). */
  status(): { readonly up: boolean; readonly error: string | undefined };
  /** Resolves once the connection is up (true), or after `timeoutMs` without it (false). */
  whenUp(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Where a gateway's shared state lives: the connection, and the prefix of every key it writes (REDIS_KEY_PREFIX). */
export interface RedisKeyspace {
  readonly connection: RedisConnection;
  readonly prefix: string;
}

/** A command that takes longer than this is given up on: the page gets a 503 rather than hanging. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;
const RETRY_MS = 2_000;
/** Commands waiting in the client at most: a server that hangs must not make them pile up in memory. */
const QUEUE_LIMIT = 1_000;
/** Error replies that mean "not now" (loading its data, a replica after a failover, out of memory), not a mistake. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|BUSY|OOM|TRYAGAIN|NOREPLICAS|CLUSTERDOWN)\b/;

interface Backend {
  send(args: readonly string[]): Promise<unknown>;
  readonly events: { on(event: string, listener: (...args: unknown[]) => void): unknown };
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
}

/**
 * Connects to a standalone server or through Sentinel, and keeps reconnecting (at most every 2 s) for as long as the
 * process runs: an outage shows as RedisUnavailable on each command meanwhile (no offline queue, so nothing piles
 * up) and ends by itself when the server is back.
 */
export function connectRedis(config: RedisConfig, logger: Logger): RedisConnection {
  let up = false;
  let lastError: string | undefined = 'not connected yet';
  let errorsLogged = 0;
  let closed = false;
  const waiting = new Set<() => void>();
  const where = config.sentinels.length > 0 ? `sentinel master ${config.sentinelMaster}` : `${config.host}:${config.port}`;

  const unreachable = (error: unknown) => {
    const wasUp = up;
    up = false;
    lastError = error instanceof Error ? error.message : String(error);
    // One line when it goes, then one a minute at most while it stays away (it retries every 2 s).
    if (wasUp || errorsLogged % 30 === 0) logger.error({ redis: where, error: lastError }, 'Redis unreachable; sign-ins and pages answer 503 until it is back');
    errorsLogged += 1;
  };
  const reachable = () => {
    if (up) return;
    if (errorsLogged > 0) logger.info({ redis: where }, 'Redis reachable again');
    up = true;
    lastError = undefined;
    errorsLogged = 0;
    for (const wake of waiting) wake();
  };

  let backend = open(config);
  const start = (current: Backend) => {
    // Without an 'error' listener an outage would end the process. Sentinel reports a master it lost as 'client-error'.
    current.events.on('error', unreachable);
    current.events.on('client-error', unreachable);
    current.events.on('ready', reachable);
    current.connect().then(
      () => current.send(['PING']).then(reachable, () => undefined),
      (error: unknown) => {
        // The standalone client retries by itself; Sentinel's gives up when no sentinel answered, and is then of no
        // more use: a new one, a little later.
        unreachable(error);
        void current.close().catch(() => undefined);
        setTimeout(() => {
          if (closed) return;
          backend = open(config);
          start(backend);
        }, RETRY_MS).unref();
      },
    );
  };
  start(backend);
  // Sentinel mode has no 'ready' event: a command that gets through says the same. While Redis is away, a PING every
  // 2 s finds out when it is back, even if no request comes to ask (/-/ready must turn green by itself).
  const heartbeat = setInterval(() => {
    if (!up) withinTimeout(backend.send(['PING'])).then(reachable, () => undefined);
  }, RETRY_MS);
  heartbeat.unref();

  return {
    async send(args) {
      try {
        const reply = (await withinTimeout(backend.send(args))) as RedisReply;
        reachable();
        return reply;
      } catch (error) {
        // Redis answered, with an error: a mistake of the gateway's, unless it only says "not now".
        if (error instanceof ErrorReply && !TRANSIENT_REPLY.test(error.message)) throw error;
        // A command that timed out, or a "not now", means Redis is away too where no socket error says so (a server
        // that hangs); other failures here (the client offline) follow a socket error, which said why.
        if (error instanceof CommandTimedOut || error instanceof ErrorReply) unreachable(error);
        throw new RedisUnavailable(error instanceof Error ? error.message : String(error));
      }
    },
    status: () => ({ up, error: up ? undefined : lastError }),
    whenUp: (timeoutMs) =>
      up
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const done = (result: boolean) => {
              clearTimeout(timer);
              waiting.delete(wake);
              resolve(result);
            };
            const wake = () => done(true);
            const timer = setTimeout(() => done(false), timeoutMs);
            waiting.add(wake);
          }),
    async close() {
      closed = true;
      clearInterval(heartbeat);
      try {
        await backend.close();
      } catch {
        // Closing a client that never connected: nothing to close.
      }
    },
  };
}

/** A client for the configured server, or for the master the configured sentinels name. */
function open(config: RedisConfig): Backend {
  const socket = {
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, RETRY_MS),
    // SNI carries host names only (RFC 6066); a certificate for an address is checked against the address anyway.
    // Through Sentinel each connection is to a host the sentinels name, whose own name is then the one to check.
    ...(config.tls
      ? {
          tls: true as const,
          ...(isIP(config.host) === 0 && config.sentinels.length === 0 ? { servername: config.host } : {}),
          ...(config.caPem === undefined ? {} : { ca: config.caPem }),
        }
      : {}),
  };
  const common = {
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    database: config.database,
    disableOfflineQueue: true,
    commandsQueueMaxLength: QUEUE_LIMIT,
    name: 'netbox-aaa-gateway',
  };
  if (config.sentinels.length > 0) {
    const sentinel = createSentinel({
      name: config.sentinelMaster ?? '',
      sentinelRootNodes: config.sentinels.map(({ host, port }) => ({ host, port })),
      nodeClientOptions: { ...common, socket },
      // The sentinels are a service of their own: the data password is not theirs to see.
      sentinelClientOptions: { ...(config.sentinelPassword === undefined ? {} : { password: config.sentinelPassword }), socket },
    });
    return { send: (args) => sentinel.sendCommand(undefined, [...args]), events: sentinel, connect: () => sentinel.connect(), close: () => sentinel.close() };
  }
  const client = createClient({ ...common, socket: { host: config.host, port: config.port, ...socket } });
  return { send: (args) => client.sendCommand([...args]), events: client, connect: () => client.connect(), close: () => client.close() };
}

class CommandTimedOut extends Error {}

/**
 * The client's own command timeout covers only the wait to be written, not the wait for the answer: a server that
 * hangs with its connection open would hold each request forever. The command itself stays queued (up to the queue's
 * limit), and is answered and ignored if the server wakes up: a request answered 503 may still have written.
 */
function withinTimeout<T>(command: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CommandTimedOut(`no answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
  });
  return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
}
