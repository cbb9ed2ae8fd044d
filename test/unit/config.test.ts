import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env-reader.js';
import { loadConfig } from '../../src/config/load.js';

const valid = {
  NETBOX_URL: 'http://netbox:8080',
  NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
  SESSION_SECRET: 'x'.repeat(32),
  RADIUS_SERVERS: 'radius1.example.net, [2001:db8::5]:11812,10.0.0.7:1645',
  RADIUS_SECRET: 'testing123',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.netbox.sessionMode).toBe('password');
    expect(config.netbox.remoteUserHeader).toBe('Remote-User');
    expect(config.session.store).toBe('sqlite');
    expect(config.session.idleTimeoutMs).toBe(3_600_000);
    expect(config.session.maxAgeMs).toBe(12 * 3_600_000);
    expect(config.provisioning).toMatchObject({ autoCreateUser: true, groupSync: true, defaultGroups: [] });
    expect(config.aaa.radius).toMatchObject({ timeoutMs: 3000, retries: 2, nasIdentifier: 'netbox-aaa-gateway' });
    expect(config.aaa.radius.servers).toEqual([
      { host: 'radius1.example.net', port: 1812 },
      { host: '2001:db8::5', port: 11812 },
      { host: '10.0.0.7', port: 1645 },
    ]);
  });

  it('reports every problem at once, naming the variable', () => {
    const problems = problemsOf({
      NETBOX_URL: 'ftp://netbox',
      NETBOX_TOKEN: 'short',
      SESSION_SECRET: 'too-short',
      RADIUS_SERVERS: '2001:db8::5:1812,ok:99999',
      LISTEN_PORT: '80a',
      GROUP_SYNC: 'maybe',
      SESSION_STORE: 'redis',
      RADIUS_TIMEOUT: 'soon',
      NETBOX_SESSION_MODE: 'cookie',
    });
    const variables = problems.map((p) => p.split(':')[0]);
    expect(variables).toEqual(
      expect.arrayContaining([
        'NETBOX_URL',
        'NETBOX_TOKEN',
        'SESSION_SECRET',
        'RADIUS_SERVERS',
        'RADIUS_SECRET',
        'LISTEN_PORT',
        'GROUP_SYNC',
        'SESSION_STORE',
        'RADIUS_TIMEOUT',
        'NETBOX_SESSION_MODE',
      ]),
    );
    expect(problems.join('\n')).toContain('brackets');
    expect(problems.join('\n')).toContain('port outside 1-65535');
  });

  it('never echoes a secret value in a problem', () => {
    const problems = problemsOf({ ...valid, SESSION_SECRET: 'hunter2-super-secret' });
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('reads secrets from *_FILE and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbgw-config-'));
    const file = join(dir, 'radius-secret');
    writeFileSync(file, 'from-a-file\n');
    const { RADIUS_SECRET: _unused, ...withoutSecret } = valid;
    expect(loadConfig({ ...withoutSecret, RADIUS_SECRET_FILE: file }).aaa.radius.secret).toBe('from-a-file');
    expect(problemsOf({ ...valid, RADIUS_SECRET_FILE: file }).join('\n')).toContain('choose one');
    expect(problemsOf({ ...withoutSecret, RADIUS_SECRET_FILE: join(dir, 'missing') }).join('\n')).toMatch(/RADIUS_SECRET_FILE: cannot read .*ENOENT/);
  });

  it('parses durations with units and bare seconds', () => {
    const config = loadConfig({ ...valid, SESSION_IDLE_TIMEOUT: '15m', SESSION_MAX_AGE: '1d', RADIUS_TIMEOUT: '2.5', AAA_LOGIN_TIMEOUT: '30s' });
    expect(config.session.idleTimeoutMs).toBe(900_000);
    expect(config.session.maxAgeMs).toBe(86_400_000);
    expect(config.aaa.radius.timeoutMs).toBe(2500);
    expect(config.aaa.loginDeadlineMs).toBe(30_000);
    expect(problemsOf({ ...valid, SESSION_IDLE_TIMEOUT: '2d', SESSION_MAX_AGE: '1d' })).toContain(
      'SESSION_IDLE_TIMEOUT: must not be longer than SESSION_MAX_AGE',
    );
  });

  it('accepts v2 tokens and refuses malformed trusted proxies and header names', () => {
    expect(loadConfig({ ...valid, NETBOX_TOKEN: 'nbt_abcDEF123456.0123456789abcdef' }).netbox.token).toMatch(/^nbt_/);
    const problems = problemsOf({ ...valid, TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip', REMOTE_USER_HEADER: 'Remote_User' });
    expect(problems.join('\n')).toContain('TRUSTED_PROXIES: "not-an-ip"');
    expect(problems.join('\n')).toContain('REMOTE_USER_HEADER');
  });

  it('says TACACS+ is not available yet rather than ignoring it', () => {
    expect(problemsOf({ ...valid, AAA_METHOD: 'tacacs' })).toEqual(['AAA_METHOD: tacacs is not available in this version yet; use radius']);
  });

  it('derives a NetBox password key independent of the session secret unless one is given', () => {
    const derived = loadConfig(valid).netbox.passwordSecret;
    expect(derived).not.toBe(valid.SESSION_SECRET);
    expect(derived.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ ...valid, NETBOX_PASSWORD_SECRET: 'p'.repeat(40) }).netbox.passwordSecret).toBe('p'.repeat(40));
  });
});
