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

/** A command that takes longer than this is given up on: the page gets a 503 rather than hanging. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Connects to a standalone server or through Sentinel, and keeps reconnecting (at most every 2 s) for as long as the
 * process runs: an outage shows as RedisUnavailable on each command meanwhile (no offline queue, so nothing piles
 * up) and ends by itself when the server is back.
 */
export function connectRedis(config: RedisConfig, logger: Logger): RedisConnection {
  let up = false;
  let lastError: string | undefined = 'not connected yet';
  const waiting = new Set<() => void>();
  let errorsLogged = 0;
  const socket = {
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    // SNI carries host names only (RFC 6066); a certificate for an address is checked against the address anyway.
    ...(config.tls ? { tls: true as const, ...(isIP(config.host) === 0 ? { servername: config.host } : {}), ...(config.caPem === undefined ? {} : { ca: config.caPem }) } : {}),
  };
  const credentials = {
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
  };
  const common = { ...credentials, database: config.database, disableOfflineQueue: true, name: 'netbox-aaa-gateway' };

  let sendCommand: (args: readonly string[]) => Promise<unknown>;
  let events: { on(event: string, listener: (...args: unknown[]) => void): unknown };
  let connect: () => Promise<unknown>;
  let disconnect: () => Promise<unknown>;
  if (config.sentinels.length > 0) {
    const sentinel = createSentinel({
      name: config.sentinelMaster ?? '',
      sentinelRootNodes: config.sentinels.map(({ host, port }) => ({ host, port })),
      nodeClientOptions: { ...common, socket },
      sentinelClientOptions: { ...credentials, socket },
    });
    sendCommand = (args) => sentinel.sendCommand(undefined, [...args]);
    events = sentinel;
    connect = () => sentinel.connect();
    disconnect = () => sentinel.close();
  } else {
    const client = createClient({ ...common, socket: { host: config.host, port: config.port, ...socket } });
    sendCommand = (args) => client.sendCommand([...args]);
    events = client;
    connect = () => client.connect();
    disconnect = () => client.close();
  }

  const where = config.sentinels.length > 0 ? `sentinel master ${config.sentinelMaster}` : `${config.host}:${config.port}`;
  // Without an 'error' listener an outage would end the process.
  const unreachable = (error: unknown) => {
    const wasUp = up;
    up = false;
    lastError = error instanceof Error ? error.message : String(error);
    // One line when it goes, then one a minute at most while it stays away (it retries every 2 s).
    if (wasUp || errorsLogged % 30 === 0) logger.error({ redis: where, error: lastError }, 'Redis unreachable; sign-ins and pages answer 503 until it is back');
    errorsLogged += 1;
  };
  events.on('error', unreachable);
  const reachable = () => {
    if (up) return;
    if (errorsLogged > 0) logger.info({ redis: where }, 'Redis reachable again');
    up = true;
    lastError = undefined;
    errorsLogged = 0;
    for (const wake of waiting) wake();
  };
  events.on('ready', reachable);
  // Sentinel mode has no 'ready' event: a command that gets through says the same. While Redis is away, a PING every
  // 2 s finds out when it is back, even if no request comes to ask (/-/ready must turn green by itself).
  const heartbeat = setInterval(() => {
    if (!up) sendCommand(['PING']).then(reachable, () => undefined);
  }, 2_000);
  heartbeat.unref();
  connect().then(
    () => sendCommand(['PING']).then(reachable, () => undefined),
    (error: unknown) => {
      lastError = error instanceof Error ? error.message : String(error);
      logger.error({ redis: where, error: lastError }, 'could not connect to Redis');
    },
  );

  return {
    async send(args) {
      try {
        const reply = (await withinTimeout(sendCommand(args))) as RedisReply;
        reachable();
        return reply;
      } catch (error) {
        // Redis answered, with an error: a mistake of the gateway's, not an outage.
        if (error instanceof ErrorReply) throw error;
        // A command that timed out means Redis is away too, where no socket error says so (a server that hangs); other
        // failures here (the client offline) follow a socket error, which said why.
        if (error instanceof CommandTimedOut) unreachable(error);
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
      clearInterval(heartbeat);
      try {
        await disconnect();
      } catch {
        // Closing a client that never connected: nothing to close.
      }
    },
  };
}

class CommandTimedOut extends Error {}

/**
 * The client's own command timeout covers only the wait to be written, not the wait for the answer: a server that
 * hangs with its connection open would hold each request forever. The command itself stays queued, and is answered
 * (and ignored) if the server wakes up.
 */
function withinTimeout<T>(command: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CommandTimedOut(`no answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
  });
  return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
}
