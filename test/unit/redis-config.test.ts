import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env-reader.js';
import { loadConfig } from '../../src/config/load.js';

const base = {
  NETBOX_URL: 'http://netbox:8080',
  NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
  SESSION_SECRET: 'x'.repeat(32),
  RADIUS_SERVERS: 'radius1.example.net',
  RADIUS_SECRET: 'testing123',
};
const folder = mkdtempSync(join(tmpdir(), 'nbgw-redis-config-'));
const caFile = join(folder, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const passwordFile = join(folder, 'redis_password');
writeFileSync(passwordFile, 'from-a-file\n');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('SESSION_STORE=redis settings', () => {
  it('reads a URL with user, password, port, database and TLS, and the key prefix', () => {
    const { redis } = loadConfig({ ...base, SESSION_STORE: 'redis', REDIS_URL: 'rediss://gw:p%40ss@redis.example.net:6380/3', REDIS_TLS_CA_FILE: caFile, REDIS_KEY_PREFIX: 'netbox-prod:' }).session;
    expect(redis).toMatchObject({ host: 'redis.example.net', port: 6380, tls: true, database: 3, username: 'gw', password: 'p@ss', keyPrefix: 'netbox-prod:', sentinels: [] });
    expect(redis?.caPem).toContain('BEGIN CERTIFICATE');
  });

  it('defaults the prefix to nbgw: and takes the password from REDIS_PASSWORD_FILE', () => {
    const { redis } = loadConfig({ ...base, SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1', REDIS_PASSWORD_FILE: passwordFile }).session;
    expect(redis).toMatchObject({ host: '127.0.0.1', port: 6379, tls: false, database: 0, password: 'from-a-file', keyPrefix: 'nbgw:' });
  });

  it('reads Sentinel: the sentinels with their default port and the master name', () => {
    const { redis } = loadConfig({ ...base, SESSION_STORE: 'redis', REDIS_SENTINELS: 'sentinel-a,sentinel-b:26380,[2001:db8::7]', REDIS_SENTINEL_MASTER: 'mymaster' }).session;
    expect(redis?.sentinels).toEqual([
      { host: 'sentinel-a', port: 26379 },
      { host: 'sentinel-b', port: 26380 },
      { host: '2001:db8::7', port: 26379 },
    ]);
    expect(redis?.sentinelMaster).toBe('mymaster');
  });

  it('names the variable for each mistake, and never repeats a password from REDIS_URL', () => {
    const cases: [Record<string, string>, string][] = [
      [{ SESSION_STORE: 'redis' }, 'REDIS_URL'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'http://user:hunter2secret@redis:6379' }, 'REDIS_URL'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://user:hunter2secret@redis:6379/99' }, 'REDIS_URL'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'not a url hunter2secret' }, 'REDIS_URL'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://:hunter2secret@redis', REDIS_PASSWORD: 'other' }, 'REDIS_PASSWORD'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://redis', REDIS_TLS_CA_FILE: caFile }, 'REDIS_TLS_CA_FILE'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'rediss://redis', REDIS_TLS_CA_FILE: join(folder, 'missing.pem') }, 'REDIS_TLS_CA_FILE'],
      [{ SESSION_STORE: 'redis', REDIS_SENTINELS: 'sentinel-a' }, 'REDIS_SENTINEL_MASTER'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://redis', REDIS_SENTINEL_MASTER: 'mymaster' }, 'REDIS_SENTINELS'],
      [{ SESSION_STORE: 'redis', REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS'],
      [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://redis', REDIS_KEY_PREFIX: 'has space' }, 'REDIS_KEY_PREFIX'],
      // Set for Redis, but the store is still SQLite: each replica would quietly keep its own sessions.
      [{ REDIS_URL: 'redis://:hunter2secret@redis' }, 'REDIS_URL'],
      [{ SESSION_STORE: 'memory', REDIS_KEY_PREFIX: 'x:' }, 'REDIS_KEY_PREFIX'],
    ];
    for (const [env, variable] of cases) {
      const problems = problemsOf(env);
      expect(problems.map((p) => p.split(':')[0]), JSON.stringify(env)).toContain(variable);
      expect(problems.join('\n'), JSON.stringify(env)).not.toContain('hunter2secret');
    }
  });
});

describe('REDIS_URL with a broken escape', () => {
  it('is a configuration problem naming REDIS_URL, not a crash, and does not repeat the password', () => {
    const problems = problemsOf({ SESSION_STORE: 'redis', REDIS_URL: 'redis://user:hunter2%zzsecret@redis:6379' });
    expect(problems.some((p) => p.startsWith('REDIS_URL:'))).toBe(true);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
