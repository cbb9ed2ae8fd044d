import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createRadiusAccounting, createRadiusAuthenticator } from './aaa/radius/authenticator.js';
import type { DeadServerStore } from './aaa/dead-servers.js';
import { RedisDeadServerStore } from './aaa/redis-dead-servers.js';
import { SqliteDeadServerStore } from './aaa/sqlite-dead-servers.js';
import { createTacacsAccounting, createTacacsAuthenticator } from './aaa/tacacs/authenticator.js';
import { serverName, type Accounting, type Authenticator } from './aaa/types.js';
import { ConfigError } from './config/env-reader.js';
import { loadConfig } from './config/load.js';
import type { AaaConfig, Config } from './config/types.js';
import { adminAddresses } from './http/admin-access.js';
import { createApp } from './http/app.js';
import { startListeners } from './http/listeners.js';
import { createLogger, type Logger } from './log.js';
import { SignIn } from './login/sign-in.js';
import { NetboxClient } from './netbox/client.js';
import { derivePassword } from './netbox/password.js';
import { RestProvisioner } from './netbox/provisioning.js';
import { RedisGroupGrantStore } from './netbox/redis-group-grants.js';
import { SqliteGroupGrantStore } from './netbox/sqlite-group-grants.js';
import { TokenCheck } from './netbox/token-check.js';
import { PasswordWebSession, RemoteUserWebSession } from './netbox/web-session.js';
import { LoginRegulation } from './regulation/regulator.js';
import { RedisRegulationStore } from './regulation/redis-store.js';
import { SqliteRegulationStore } from './regulation/sqlite-store.js';
import { connectRedis, type RedisKeyspace } from './redis/connection.js';
import { withRedisLock } from './redis/lock.js';
import { createRoleMapper } from './roles/engine.js';
import { createSessionStore, sqliteLocation } from './session/index.js';
import { SessionLifecycle } from './session/lifecycle.js';
import type { SessionStore } from './session/types.js';

export interface RunningGateway {
  readonly server: Server;
  /** The address actually bound (LISTEN_PORT=0 picks a free port). */
  readonly url: string;
  /** Ends everything at once (tests). */
  close(): Promise<void>;
  /**
   * The graceful end (SIGTERM): /-/ready says unavailable, the listeners stop accepting, idle connections close,
   * requests in flight get `graceMs` to finish, then the stores and AAA sockets close.
   */
  drain(graceMs: number): Promise<void>;
  /** Re-reads the TLS certificate and key (SIGHUP). */
  reloadTls(): void;
  /** Where the sessions are: tests look into it. */
  readonly sessions: SessionStore;
}

/** One user's provisioning holds its lock across replicas at most this long (NetBox's timeouts are far shorter). */
const PROVISION_LEASE_MS = 30_000;
/** How long start-up waits for Redis before it listens anyway, so that a normal start answers no request with 503. */
const REDIS_START_WAIT_MS = 5_000;

/** The composition root: every concrete piece is chosen here and nowhere else. */
export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  // The state several replicas share through Redis, or one keeps in its SQLite file: sessions, login regulation, which
  // groups the gateway granted (managed sync mode), and which AAA servers are held down.
  const redisConfig = config.session.redis;
  const shared: RedisKeyspace | undefined =
    redisConfig === undefined ? undefined : { connection: connectRedis(redisConfig, logger.child({ module: 'redis' })), prefix: redisConfig.keyPrefix };
  const sqlitePath = sqliteLocation(config.session);
  const deadServers = shared ? new RedisDeadServerStore(shared.connection, shared.prefix) : new SqliteDeadServerStore(sqlitePath);
  const { authenticator, accounting, servers } = createAaa(config.aaa, config.roles.attributes, logger, deadServers);
  const roles = createRoleMapper(config.roles, logger.child({ module: 'roles' }));
  warnAboutSuperuserGroups(config, logger);

  const netboxLogger = logger.child({ module: 'netbox' });
  const netbox = new NetboxClient({ baseUrl: config.netbox.url, token: config.netbox.token, timeoutMs: config.netbox.timeoutMs, logger: netboxLogger });
  const passwordFor = (username: string) => derivePassword(config.netbox.passwordSecret, username);
  const groupGrants = shared ? new RedisGroupGrantStore(shared.connection, shared.prefix) : new SqliteGroupGrantStore(sqlitePath);
  const provisioner = new RestProvisioner({
    client: netbox,
    autoCreateUser: config.provisioning.autoCreateUser,
    syncMode: config.provisioning.syncMode,
    manages: (group) => roles.manages(group),
    grants: groupGrants,
    ...(shared && {
      acrossReplicas: <T>(key: string, work: () => Promise<T>) =>
        withRedisLock(shared.connection, `${shared.prefix}provision-lock:${key}`, { leaseMs: PROVISION_LEASE_MS, waitMs: PROVISION_LEASE_MS }, work),
    }),
    superuserGroups: config.roles.superuserGroups,
    grantSuperuserPermission: config.netbox.sessionMode === 'password' && config.roles.superuserGroups.length > 0,
    manageStaff: config.roles.staffGroups.length > 0,
    passwordFor,
    logger: netboxLogger,
  });
  const webSessions =
    config.netbox.sessionMode === 'password'
      ? new PasswordWebSession({ baseUrl: config.netbox.url, client: netbox, passwordFor, timeoutMs: config.netbox.timeoutMs, logger: netboxLogger })
      : new RemoteUserWebSession({
          baseUrl: config.netbox.url,
          header: config.netbox.remoteUserHeader,
          groupHeader: config.netbox.remoteUserGroupHeader,
          groupSeparator: config.netbox.remoteUserGroupSeparator,
          timeoutMs: config.netbox.timeoutMs,
          logger: netboxLogger,
        });

  const signIn = new SignIn({
    authenticator,
    roles,
    provisioner,
    webSessions,
    profileAttributes: config.provisioning.profileAttributes,
    usernameRules: config.provisioning.username,
    logger: logger.child({ module: 'login' }),
  });
  const sessionLogger = logger.child({ module: 'session' });
  const lifecycle = new SessionLifecycle({ accounting, webSessions, lifetimes: config.session, logger: sessionLogger });
  const sessionStore = createSessionStore(config.session, lifecycle, sessionLogger, shared);
  const regulationLogger = logger.child({ module: 'regulation' });
  // Beside the sessions, so bans survive a restart exactly when sessions do.
  const regulationStore =
    shared ? new RedisRegulationStore(shared.connection, shared.prefix) : new SqliteRegulationStore(sqlitePath, regulationLogger);
  const regulation = new LoginRegulation({
    store: regulationStore,
    settings: config.regulation,
    usernameRules: config.provisioning.username,
    logger: regulationLogger,
  });
  let draining = false;
  const app = createApp({
    netboxUrl: config.netbox.url,
    netboxMaxConnections: config.netbox.maxConnections,
    trustedProxies: config.trustedProxies,
    session: { store: sessionStore, cookieName: config.session.cookieName, secret: config.session.secret, logger: sessionLogger },
    signIn,
    webSessions,
    lifecycle,
    regulation,
    remoteUser: {
      header: config.netbox.remoteUserHeader,
      groupHeader: config.netbox.remoteUserGroupHeader,
      groupSeparator: config.netbox.remoteUserGroupSeparator,
    },
    sendRemoteUser: config.netbox.sessionMode === 'remote-user',
    staticRoot: config.netbox.staticRoot,
    hstsMaxAgeSeconds: config.edge.hstsMaxAgeSeconds,
    readiness: {
      aaaMethod: config.aaa.method,
      aaaServers: () => authenticator.servers(),
      netboxVersion: () => netbox.netboxVersion(),
      netboxCheckIntervalMs: 5_000,
      showsDetailTo: adminAddresses(config.edge.adminAllowFrom),
      draining: () => draining,
      redis: shared && (() => shared.connection.status()),
    },
    tokenCheck: new TokenCheck({ baseUrl: config.netbox.url, timeoutMs: config.netbox.timeoutMs, logger: netboxLogger }),
    logger: logger.child({ module: 'http' }),
  });

  // Not a condition for starting: without Redis the gateway answers 503 and /-/ready says why, until it is back.
  if (shared && !(await shared.connection.whenUp(REDIS_START_WAIT_MS))) {
    logger.warn({ waitedMs: REDIS_START_WAIT_MS }, 'Redis is not reachable yet; starting anyway, and answering 503 until it is');
  }
  const { server, redirect, url, reloadTls } = await startListeners(app, config.listen, config.edge, logger);
  logger.info(
    { url, httpRedirectPort: config.edge.httpRedirectPort, netbox: config.netbox.url.origin, aaa: config.aaa.method, servers, accounting: accounting !== undefined, sessionMode: config.netbox.sessionMode },
    'gateway listening',
  );
  void checkNetbox(netbox, logger);

  const release = async () => {
    // The store first: a purge under way finishes, and the ends it reports are among those the lifecycle waits for.
    await sessionStore.close();
    await lifecycle.drain();
    authenticator.close();
    await regulationStore.close();
    await groupGrants.close();
    await deadServers.close();
    await shared?.connection.close();
  };
  const listeners = [server, ...(redirect ? [redirect] : [])];
  // closeAllConnections() knows HTTP connections only; one still in its TLS handshake would hold the drain open.
  const sockets = new Set<Socket>();
  for (const listener of listeners) {
    listener.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  }
  // Ending happens once, however it is asked for (a signal during a test's close, a second close).
  let ending: Promise<void> | undefined;
  return {
    server,
    url,
    reloadTls,
    sessions: sessionStore,
    close: () =>
      (ending ??= (async () => {
        for (const listener of listeners) listener.closeAllConnections();
        await Promise.all(listeners.map(closed));
        await release();
      })()),
    drain: (graceMs) => (ending ??= drain(graceMs)),
  };

  async function drain(graceMs: number): Promise<void> {
    draining = true;
    const allClosed = Promise.all(listeners.map(closed));
    // A keep-alive connection goes idle between requests; close it then rather than wait for its timeout.
    const sweep = setInterval(() => listeners.forEach((listener) => listener.closeIdleConnections()), 100);
    let graceOver: NodeJS.Timeout | undefined;
    const cut = await Promise.race([
      allClosed.then(() => false),
      new Promise<boolean>((resolve) => {
        graceOver = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearInterval(sweep);
    clearTimeout(graceOver);
    if (cut) {
      logger.warn({ graceMs, connections: sockets.size }, 'shutdown grace over; cutting the requests still in flight');
      for (const listener of listeners) listener.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await allClosed;
    }
    await release();
  }
}

/** Resolves once the listener has stopped accepting and its last connection has ended. */
function closed(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The configured protocol's authenticator, and its accounting when that is on. */
function createAaa(
  aaa: AaaConfig,
  roleAttributes: readonly string[],
  logger: Logger,
  deadServers: DeadServerStore,
): { authenticator: Authenticator; accounting: Accounting | undefined; servers: string[] } {
  if (aaa.method === 'radius') {
    const radiusLogger = logger.child({ module: 'radius' });
    return {
      authenticator: createRadiusAuthenticator(aaa.radius, aaa.loginDeadlineMs, radiusLogger, { ...aaa, deadServers }),
      accounting: createRadiusAccounting(aaa.radius, radiusLogger),
      servers: aaa.radius.servers.map(serverName),
    };
  }
  const tacacsLogger = logger.child({ module: 'tacacs' });
  return {
    authenticator: createTacacsAuthenticator(aaa.tacacs, aaa.loginDeadlineMs, tacacsLogger, { ...aaa, deadServers }, roleAttributes),
    accounting: createTacacsAccounting(aaa.tacacs, tacacsLogger),
    servers: aaa.tacacs.servers.map((server) => `${server.tls ? 'tls://' : ''}${serverName(server)}`),
  };
}

/**
 * NetBox's REST API cannot make anybody a superuser, so say at start what SUPERUSER_GROUPS will and will not do
 * in the configured mode (README: "Superuser").
 */
function warnAboutSuperuserGroups(config: Config, logger: Logger): void {
  const groups = config.roles.superuserGroups;
  if (groups.length === 0) return;
  if (config.netbox.sessionMode === 'password') {
    logger.warn(
      { superuserGroups: groups },
      'password mode cannot make NetBox superusers: members of SUPERUSER_GROUPS get a gateway-managed permission on all objects ' +
        'and actions, but NetBox keeps its System pages, background tasks and plugin pages for real superusers (see README)',
    );
  } else {
    logger.warn(
      { superuserGroups: groups, remoteUserGroupHeader: config.netbox.remoteUserGroupHeader },
      'remote-user mode: NetBox makes superusers only if its configuration.py has REMOTE_AUTH_GROUP_SYNC_ENABLED = True and ' +
        'REMOTE_AUTH_SUPERUSER_GROUPS listing these groups (see README)',
    );
  }
}

/** A start-up hint for operators, not a gate: NetBox may come up after the gateway. */
async function checkNetbox(netbox: NetboxClient, logger: Logger): Promise<void> {
  try {
    const version = await netbox.netboxVersion();
    logger.info({ version }, 'NetBox answered');
  } catch (error) {
    logger.warn({ error: (error as Error).message }, 'NetBox did not answer the start-up check; logins will fail until it does');
  }
}

/** After SHUTDOWN_GRACE, how long closing the stores and sending the last accounting STOPs may take. */
const FINAL_WORK_MS = 8_000;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`netbox-aaa-gateway: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  // Installed before start-up: under Docker the process is PID 1, which ignores signals nobody handles.
  let gateway: RunningGateway | undefined;
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping || gateway === undefined) {
        logger.warn({ signal }, gateway === undefined ? 'signal during start-up: exiting' : 'second signal: exiting at once');
        process.exit(gateway === undefined ? 0 : 1);
      }
      stopping = true;
      logger.info({ signal, graceMs: config.edge.shutdownGraceMs }, 'shutting down: finishing the requests in flight');
      // Accounting and NetBox logouts still under way after the grace get a little longer, not forever.
      setTimeout(() => {
        logger.error({}, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, config.edge.shutdownGraceMs + FINAL_WORK_MS).unref();
      gateway.drain(config.edge.shutdownGraceMs).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  process.on('SIGHUP', () => {
    if (gateway === undefined) logger.warn({}, 'SIGHUP during start-up: ignored');
    else gateway.reloadTls();
  });
  gateway = await startGateway(config, logger);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`netbox-aaa-gateway: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
