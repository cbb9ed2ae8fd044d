import { hkdfSync } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { LogLevel } from '../log.js';
import { isAddressRange, readEdgeConfig } from './edge.js';
import { DAY, EnvReader, HOUR, MINUTE, SECOND, type Env } from './env-reader.js';
import { parseHostPort } from './host-port.js';
import { readRedisConfig } from './redis.js';
import { readRegulationConfig } from './regulation.js';
import { readRoleConfig } from './roles.js';
import type { GroupSyncMode } from '../netbox/types.js';
import type { AaaConfig, Config, RadiusConfig, RadiusServer, RequireMessageAuthenticator, TacacsConfig, TlsClientConfig } from './types.js';


/** Builds the whole configuration or throws ConfigError listing every problem found. */
export function loadConfig(env: Env): Config {
  const read = new EnvReader(env);

  const listen = {
    host: read.string('LISTEN_HOST', '0.0.0.0'),
    port: read.integer('LISTEN_PORT', 8080, { min: 0, max: 65535 }),
  };
  if (isIP(listen.host) === 0 && listen.host !== 'localhost') {
    read.problem('LISTEN_HOST', `must be an IP address (e.g. 0.0.0.0, 127.0.0.1, ::), got "${listen.host}"`);
  }
  const logLevel = read.choice<LogLevel>('LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'], 'info');
  const trustedProxies = read.list('TRUSTED_PROXIES');
  for (const entry of trustedProxies) {
    if (!isAddressRange(entry, ['loopback', 'linklocal', 'uniquelocal'])) {
      read.problem('TRUSTED_PROXIES', `"${entry}" is not an IP address, a CIDR range, or one of loopback, linklocal, uniquelocal`);
    }
  }

  const netboxUrl = parseNetboxUrl(read);
  const netboxToken = read.secret('NETBOX_TOKEN', "the NetBox service account's API token") ?? '';
  if (netboxToken !== '' && !isNetboxToken(netboxToken)) {
    read.problem('NETBOX_TOKEN', 'must be a v1 token (40 letters and digits) or a v2 token (nbt_<key>.<secret>)');
  }
  const sessionSecret = read.secret('SESSION_SECRET', 'signs the session cookie') ?? '';
  if (sessionSecret !== '' && sessionSecret.length < 32) {
    read.problem('SESSION_SECRET', `must be at least 32 characters, got ${sessionSecret.length}`);
  }
  const explicitPasswordSecret = read.secret('NETBOX_PASSWORD_SECRET', 'derives NetBox passwords', { required: false });
  if (explicitPasswordSecret !== undefined && explicitPasswordSecret.length < 32) {
    read.problem('NETBOX_PASSWORD_SECRET', `must be at least 32 characters, got ${explicitPasswordSecret.length}`);
  }
  const remoteUserHeader = headerName(read, 'REMOTE_USER_HEADER', 'Remote-User');
  const remoteUserGroupHeader = headerName(read, 'REMOTE_USER_GROUP_HEADER', 'Remote-User-Group');
  const remoteUserGroupSeparator = read.string('REMOTE_USER_GROUP_SEPARATOR', '|');
  if (remoteUserGroupSeparator.length !== 1 || /[\w\s-]/.test(remoteUserGroupSeparator)) {
    read.problem('REMOTE_USER_GROUP_SEPARATOR', `must be one character that cannot occur in a group name, such as |, got "${remoteUserGroupSeparator}"`);
  }
  const staticRoot = read.optionalString('NETBOX_STATIC_ROOT');
  if (staticRoot !== undefined && !isDirectory(staticRoot)) {
    read.problem('NETBOX_STATIC_ROOT', `${staticRoot} is not a readable directory`);
  }

  const store = read.choice('SESSION_STORE', ['sqlite', 'memory', 'redis'] as const, 'sqlite');
  const session = {
    secret: sessionSecret,
    store,
    redis: readRedisConfig(read, store),
    sqlitePath: read.string('SESSION_SQLITE_PATH', 'data/sessions.sqlite'),
    idleTimeoutMs: read.duration('SESSION_IDLE_TIMEOUT', 1 * HOUR, { bareUnit: 's', minMs: MINUTE, maxMs: 30 * DAY }),
    maxAgeMs: read.duration('SESSION_MAX_AGE', 12 * HOUR, { bareUnit: 's', minMs: MINUTE, maxMs: 90 * DAY }),
    cookieName: read.string('SESSION_COOKIE_NAME', 'nbgw_session'),
    purgeIntervalMs: 30 * SECOND,
  };
  if (!/^[A-Za-z0-9_-]+$/.test(session.cookieName) || ['sessionid', 'csrftoken'].includes(session.cookieName)) {
    read.problem('SESSION_COOKIE_NAME', `must be letters, digits, _ or - and not one of NetBox's cookie names, got "${session.cookieName}"`);
  }
  if (session.idleTimeoutMs > session.maxAgeMs) {
    read.problem('SESSION_IDLE_TIMEOUT', 'must not be longer than SESSION_MAX_AGE');
  }

  const method = read.choice('AAA_METHOD', ['radius', 'tacacs'] as const, 'radius');
  const loginDeadlineMs = read.duration('AAA_LOGIN_TIMEOUT', 20 * SECOND, { bareUnit: 's', minMs: SECOND, maxMs: 5 * MINUTE });
  const deadTimeMs = read.duration('AAA_DEAD_TIME', 60 * SECOND, { bareUnit: 's', minMs: 0, maxMs: HOUR });
  const probeIntervalMs = read.duration('AAA_PROBE_INTERVAL', 10 * SECOND, { bareUnit: 's', minMs: SECOND, maxMs: HOUR });
  const common = { loginDeadlineMs, deadTimeMs, probeIntervalMs };
  const aaa: AaaConfig = method === 'radius' ? { method, ...common, radius: readRadius(read) } : { method, ...common, tacacs: readTacacs(read) };

  const config: Config = {
    listen,
    logLevel,
    trustedProxies,
    edge: readEdgeConfig(read),
    netbox: {
      url: netboxUrl ?? new URL('http://invalid.invalid'),
      token: netboxToken,
      timeoutMs: read.duration('NETBOX_TIMEOUT', 10 * SECOND, { bareUnit: 's', minMs: SECOND, maxMs: 2 * MINUTE }),
      maxConnections: read.integer('NETBOX_MAX_CONNECTIONS', 64, { min: 1, max: 10_000 }),
      sessionMode: read.choice('NETBOX_SESSION_MODE', ['password', 'remote-user'] as const, 'password'),
      remoteUserHeader,
      remoteUserGroupHeader,
      remoteUserGroupSeparator,
      passwordSecret: explicitPasswordSecret ?? derivePasswordSecret(sessionSecret),
      staticRoot,
    },
    provisioning: {
      autoCreateUser: read.boolean('AUTO_CREATE_USER', true),
      syncMode: readSyncMode(read),
      username: {
        stripDomain: read.boolean('USERNAME_STRIP_DOMAIN', false),
        stripRealm: read.boolean('USERNAME_STRIP_REALM', false),
        allowedDomains: read.list('USERNAME_ALLOWED_DOMAINS').map((domain) => domain.toLowerCase()),
        allowedRealms: read.list('USERNAME_ALLOWED_REALMS').map((realm) => realm.toLowerCase()),
        caseFold: read.choice('USERNAME_CASE', ['preserve', 'lower'] as const, 'preserve'),
      },
      profileAttributes: {
        firstName: read.optionalString('USER_FIRST_NAME_ATTRIBUTE'),
        lastName: read.optionalString('USER_LAST_NAME_ATTRIBUTE'),
        email: read.optionalString('USER_EMAIL_ATTRIBUTE'),
      },
    },
    session,
    aaa,
    roles: readRoleConfig(read),
    regulation: readRegulationConfig(read),
  };
  read.finish();
  return config;
}

/**
 * Without NETBOX_PASSWORD_SECRET the password key is derived from SESSION_SECRET under its own label, so the
 * two keys are independent but an operator has one secret less to manage. Rotating SESSION_SECRET then
 * rotates every NetBox password at each user's next login (the gateway repairs them over REST).
 */
function derivePasswordSecret(sessionSecret: string): string {
  return Buffer.from(hkdfSync('sha256', sessionSecret, 'netbox-aaa-gateway', 'netbox-password-key', 32)).toString('base64url');
}

function parseNetboxUrl(read: EnvReader): URL | undefined {
  const text = read.required('NETBOX_URL', "NetBox's internal base URL, e.g. http://netbox:8080");
  if (text === '') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    read.problem('NETBOX_URL', `is not a URL: "${text}"`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    read.problem('NETBOX_URL', `must start with http:// or https://, got "${text}"`);
  } else if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    read.problem('NETBOX_URL', 'must be a plain base URL without credentials, query or fragment');
  } else if (url.pathname !== '/') {
    // NetBox under a BASE_PATH would need every redirect and cookie path rewritten; not supported yet.
    read.problem('NETBOX_URL', `must not have a path (NetBox BASE_PATH is not supported), got "${url.pathname}"`);
  }
  return url;
}

/** GROUP_SYNC_MODE, or the older GROUP_SYNC=true|false as an alias for replace|add. */
function readSyncMode(read: EnvReader): GroupSyncMode {
  const mode = read.choice('GROUP_SYNC_MODE', ['replace', 'managed', 'add'] as const, 'managed');
  if (read.raw('GROUP_SYNC') === undefined) return mode;
  const alias = read.boolean('GROUP_SYNC', true) ? 'replace' : 'add';
  if (read.raw('GROUP_SYNC_MODE') !== undefined && alias !== mode) {
    read.problem('GROUP_SYNC', `says ${alias} but GROUP_SYNC_MODE says ${mode}; remove GROUP_SYNC`);
  }
  return alias;
}

function headerName(read: EnvReader, name: string, fallback: string): string {
  const header = read.string(name, fallback);
  if (!/^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/.test(header)) {
    read.problem(name, `must be a header name of letters, digits and hyphens (gunicorn drops names with underscores), got "${header}"`);
  }
  return header;
}

function readRadius(read: EnvReader): RadiusConfig {
  const servers = readServers(read, 'RADIUS_SERVERS', (entry) => radiusServer(entry, 1812));
  const require = readRequireMessageAuthenticator(read, servers.length);
  const withPolicy = servers.map((server, index) => ({ ...server, requireMessageAuthenticator: require[index] ?? 'auto' }));
  // An unparsable list still needs the secret reported: the operator is about to fix the list.
  const needsSecret = servers.length === 0 || servers.some((server) => server.transport === 'udp');
  const nasIpAddress = read.optionalString('RADIUS_NAS_IP_ADDRESS');
  if (nasIpAddress !== undefined && isIP(nasIpAddress) !== 4) read.problem('RADIUS_NAS_IP_ADDRESS', `must be an IPv4 address, got "${nasIpAddress}"`);
  const sourceAddress = read.optionalString('RADIUS_SOURCE_ADDRESS');
  if (sourceAddress !== undefined && isIP(sourceAddress) === 0) read.problem('RADIUS_SOURCE_ADDRESS', `must be an IP address, got "${sourceAddress}"`);
  const accountingEnabled = read.boolean('RADIUS_ACCOUNTING', false);
  const accountingServers =
    read.raw('RADIUS_ACCOUNTING_SERVERS') === undefined
      ? withPolicy.map((server) => (server.transport === 'udp' ? { ...server, port: 1813 } : server))
      : readServers(read, 'RADIUS_ACCOUNTING_SERVERS', (entry) => radiusServer(entry, 1813)).map((server) => ({ ...server, requireMessageAuthenticator: 'no' as const }));
  const radius: RadiusConfig = {
    servers: withPolicy,
    secret: read.secret('RADIUS_SECRET', 'the RADIUS shared secret', { required: needsSecret }) ?? '',
    timeoutMs: read.duration('RADIUS_TIMEOUT', 3 * SECOND, { bareUnit: 's', minMs: 100, maxMs: MINUTE }),
    retries: read.integer('RADIUS_RETRIES', 2, { min: 1, max: 10 }),
    nasIdentifier: read.string('RADIUS_NAS_IDENTIFIER', 'netbox-aaa-gateway'),
    nasIpAddress,
    sourceAddress,
    challengeTimeoutMs: read.duration('RADIUS_CHALLENGE_TIMEOUT', 60 * SECOND, { bareUnit: 's', minMs: SECOND, maxMs: 5 * MINUTE }),
    accounting: { enabled: accountingEnabled, servers: accountingServers },
    tls: readTls(read, 'RADIUS_TLS', [...withPolicy, ...accountingServers].some((server) => server.transport === 'radsec')),
    probe: read.boolean('RADIUS_PROBE', false),
  };
  if (Buffer.byteLength(radius.nasIdentifier) > 253) read.problem('RADIUS_NAS_IDENTIFIER', 'must be at most 253 bytes');
  return radius;
}

/** `host[:port]` (UDP) or `radsec://host[:port]` (RFC 6614, default port 2083). */
function radiusServer(entry: string, defaultPort: number): Omit<RadiusServer, 'requireMessageAuthenticator'> | string {
  const radsec = /^radsec:\/\//i.test(entry);
  const address = parseHostPort(radsec ? entry.slice('radsec://'.length) : entry, radsec ? 2083 : defaultPort);
  return typeof address === 'string' ? address : { ...address, transport: radsec ? 'radsec' : 'udp' };
}

/** One policy for every server, or one per server in RADIUS_SERVERS order. */
function readRequireMessageAuthenticator(read: EnvReader, serverCount: number): RequireMessageAuthenticator[] {
  const name = 'RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR';
  const values = read.list(name, ['auto']).map((value) => value.toLowerCase());
  const policies: RequireMessageAuthenticator[] = [];
  for (const value of values) {
    const policy = ({ true: 'yes', yes: 'yes', false: 'no', no: 'no', auto: 'auto' } as const)[value as 'true' | 'yes' | 'false' | 'no' | 'auto'];
    if (policy === undefined) read.problem(name, `must be true, false or auto (one value, or one per server), got "${value}"`);
    else policies.push(policy);
  }
  if (values.length !== 1 && values.length !== serverCount) {
    read.problem(name, `has ${values.length} values for ${serverCount} servers; give one value, or one per server`);
  }
  return values.length === 1 ? Array.from({ length: serverCount }, () => policies[0] ?? 'auto') : policies;
}

/**
 * With `used` (some server speaks TLS) a CA file is required: an AAA server's certificate should come from the
 * operator's own CA, and trusting every public CA for it must be a choice, made by naming the system bundle.
 */
function readTls(read: EnvReader, prefix: 'RADIUS_TLS' | 'TACACS_TLS', used: boolean): TlsClientConfig {
  if (used && read.raw(`${prefix}_CA_FILE`) === undefined) {
    read.problem(
      `${prefix}_CA_FILE`,
      "is required for TLS servers: the PEM file of the CA that signs the servers' certificates " +
        '(to trust the public CAs instead, name the system bundle, e.g. /etc/ssl/certs/ca-certificates.crt)',
    );
  }
  const tls = {
    caFile: readableFile(read, `${prefix}_CA_FILE`),
    serverName: read.optionalString(`${prefix}_SERVER_NAME`),
    certFile: readableFile(read, `${prefix}_CERT_FILE`),
    keyFile: readableFile(read, `${prefix}_KEY_FILE`),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    read.problem(`${prefix}_CERT_FILE`, `and ${prefix}_KEY_FILE go together: set both or neither`);
  }
  return tls;
}

/** RFC 8907 §10.5.1: keys shorter than this are too weak for the obfuscation to mean anything. */
const MIN_TACACS_KEY_LENGTH = 16;

function readTacacs(read: EnvReader): TacacsConfig {
  const servers = readServers(read, 'TACACS_SERVERS', (entry) => {
    const tls = /^tls:\/\//i.test(entry);
    const address = parseHostPort(tls ? entry.slice('tls://'.length) : entry, tls ? 300 : 49);
    return typeof address === 'string' ? address : { ...address, tls };
  });
  const needsKey = servers.length === 0 || servers.some((server) => !server.tls);
  const secret = read.secret('TACACS_SECRET', 'the TACACS+ key for servers reached over plain TCP', { required: needsKey }) ?? '';
  const allowShortKey = read.boolean('TACACS_ALLOW_SHORT_KEY', false);
  if (needsKey && secret !== '' && secret.length < MIN_TACACS_KEY_LENGTH && !allowShortKey) {
    read.problem(
      'TACACS_SECRET',
      `is ${secret.length} characters; RFC 8907 asks for at least ${MIN_TACACS_KEY_LENGTH} (set TACACS_ALLOW_SHORT_KEY=true to accept it anyway)`,
    );
  }
  const tls = readTls(read, 'TACACS_TLS', servers.some((server) => server.tls));
  const service = read.string('TACACS_SERVICE', 'shell');
  const portName = read.string('TACACS_PORT_NAME', 'netbox-aaa-gateway');
  for (const [name, value] of [['TACACS_SERVICE', service], ['TACACS_PORT_NAME', portName]] as const) {
    if (Buffer.byteLength(value) > 255 || /[\u0000-\u001f=*]/.test(value)) {
      read.problem(name, 'must be at most 255 bytes without control characters, "=" or "*"');
    }
  }
  return {
    servers,
    secret,
    timeoutMs: read.duration('TACACS_TIMEOUT', 5 * SECOND, { bareUnit: 's', minMs: 100, maxMs: MINUTE }),
    authType: read.choice('TACACS_AUTH_TYPE', ['pap', 'ascii', 'chap'] as const, 'pap'),
    service,
    portName,
    probe: read.boolean('TACACS_PROBE', true),
    authorization: read.boolean('TACACS_AUTHORIZATION', true),
    accounting: read.boolean('TACACS_ACCOUNTING', true),
    tls,
  };
}

/** A required, comma-separated server list; `parse` returns the server or a problem description. */
function readServers<T>(read: EnvReader, name: string, parse: (entry: string) => T | string): T[] {
  const entries = read.list(name);
  if (entries.length === 0) {
    read.problem(name, 'is required: a comma-separated list of host[:port], tried in order');
    return [];
  }
  const servers: T[] = [];
  for (const entry of entries) {
    const server = parse(entry);
    if (typeof server === 'string') read.problem(name, `"${entry}" ${server}`);
    else servers.push(server);
  }
  return servers;
}

function readableFile(read: EnvReader, name: string): string | undefined {
  const path = read.optionalString(name);
  if (path === undefined) return undefined;
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) read.problem(name, `${path} is not a file`);
  } catch (error) {
    read.problem(name, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return path;
}

function isNetboxToken(token: string): boolean {
  return /^[A-Za-z0-9]{40}$/.test(token) || /^nbt_[A-Za-z0-9]+\.[A-Za-z0-9]+$/.test(token);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
