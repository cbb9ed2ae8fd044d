import { readFileSync } from 'node:fs';
import type { EnvReader } from './env-reader.js';
import { parseHostPort } from './host-port.js';
import type { HostPort, RedisConfig } from './types.js';

const REDIS_VARIABLES = [
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_PASSWORD_FILE',
  'REDIS_KEY_PREFIX',
  'REDIS_TLS_CA_FILE',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_SENTINEL_PASSWORD_FILE',
];

/**
 * Redis (or Valkey) for SESSION_STORE=redis. Nothing here ever repeats REDIS_URL's value in a message: it may carry a
 * password. Any REDIS_ setting with another store is an error, because a gateway that was meant to share its state
 * and silently keeps it to itself breaks sign-in behind a load balancer in ways that are hard to see.
 */
export function readRedisConfig(read: EnvReader, store: string): RedisConfig | undefined {
  if (store !== 'redis') {
    for (const name of REDIS_VARIABLES) if (read.raw(name) !== undefined) read.problem(name, `is only used with SESSION_STORE=redis (SESSION_STORE is ${store})`);
    return undefined;
  }
  const sentinels = read.list('REDIS_SENTINELS').flatMap((entry): HostPort[] => {
    const parsed = parseHostPort(entry, 26379);
    if (typeof parsed === 'string') {
      read.problem('REDIS_SENTINELS', `"${entry}" ${parsed}`);
      return [];
    }
    return [parsed];
  });
  const sentinelMaster = read.optionalString('REDIS_SENTINEL_MASTER');
  if (read.raw('REDIS_SENTINELS') !== undefined && sentinelMaster === undefined) read.problem('REDIS_SENTINEL_MASTER', 'names the master the sentinels in REDIS_SENTINELS watch; set it too');
  if (sentinelMaster !== undefined && read.raw('REDIS_SENTINELS') === undefined) read.problem('REDIS_SENTINELS', 'lists the sentinels (host:port,...) that watch REDIS_SENTINEL_MASTER; set it too');
  const sentinelPassword = read.secret('REDIS_SENTINEL_PASSWORD', "the sentinels' password", { required: false });
  if (sentinelPassword !== undefined && read.raw('REDIS_SENTINELS') === undefined) read.problem('REDIS_SENTINEL_PASSWORD', 'is for the sentinels in REDIS_SENTINELS; set those too');

  const rawUrl = read.optionalString('REDIS_URL');
  if (rawUrl === undefined && sentinels.length === 0) read.problem('REDIS_URL', 'is required with SESSION_STORE=redis (redis://host:6379, rediss:// for TLS), unless REDIS_SENTINELS is set');
  const url = rawUrl === undefined ? undefined : parseRedisUrl(read, rawUrl, sentinels.length > 0);
  const password = read.secret('REDIS_PASSWORD', 'the Redis password', { required: false });
  if (password !== undefined && url?.password !== undefined) read.problem('REDIS_PASSWORD', 'is set and REDIS_URL carries a password too; choose one');

  const caFile = read.optionalString('REDIS_TLS_CA_FILE');
  let caPem: string | undefined;
  if (caFile !== undefined) {
    if (url !== undefined && !url.tls) read.problem('REDIS_TLS_CA_FILE', 'is for TLS; REDIS_URL must then start with rediss://');
    try {
      caPem = readFileSync(caFile, 'utf8');
      if (!caPem.includes('-----BEGIN CERTIFICATE-----')) read.problem('REDIS_TLS_CA_FILE', `${caFile} holds no PEM certificate`);
    } catch (error) {
      read.problem('REDIS_TLS_CA_FILE', `cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const keyPrefix = read.string('REDIS_KEY_PREFIX', 'nbgw:');
  if (!/^[\x21-\x7e]{1,64}$/.test(keyPrefix)) read.problem('REDIS_KEY_PREFIX', 'must be 1 to 64 printable characters without spaces');

  return {
    host: url?.host ?? 'localhost',
    port: url?.port ?? 6379,
    tls: url?.tls ?? false,
    database: url?.database ?? 0,
    username: url?.username,
    password: password ?? url?.password,
    caPem,
    keyPrefix,
    sentinels,
    sentinelMaster,
    sentinelPassword,
  };
}

interface ParsedRedisUrl {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly database: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

function parseRedisUrl(read: EnvReader, raw: string, withSentinels: boolean): ParsedRedisUrl | undefined {
  const shape = 'must look like redis://[user:password@]host[:port][/db], or rediss:// for TLS';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    read.problem('REDIS_URL', shape);
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    read.problem('REDIS_URL', `${shape} (the scheme is ${url.protocol.replace(/:$/, '')})`);
    return undefined;
  }
  if (url.hostname === '' && !withSentinels) {
    read.problem('REDIS_URL', `${shape} (no host)`);
    return undefined;
  }
  const database = url.pathname === '' || url.pathname === '/' ? 0 : Number(url.pathname.slice(1));
  if (!Number.isInteger(database) || database < 0 || database > 15) {
    read.problem('REDIS_URL', 'names a database that is not a number from 0 to 15');
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') read.problem('REDIS_URL', 'takes no query or fragment; use REDIS_TLS_CA_FILE and the other REDIS_ settings');
  const decode = (part: string) => {
    if (part === '') return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      read.problem('REDIS_URL', 'has a user or password with a broken %-escape');
      return undefined;
    }
  };
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:',
    database,
    username: decode(url.username),
    password: decode(url.password),
  };
}
