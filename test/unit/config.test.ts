import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env-reader.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config, RadiusConfig } from '../../src/config/types.js';
import { makeTestCertificates } from '../support/certs.js';

/** Any readable file will do for a CA path in these tests; nothing is parsed at config time. */
const caFile = join(mkdtempSync(join(tmpdir(), 'nbgw-ca-')), 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');

const valid = {
  NETBOX_URL: 'http://netbox:8080',
  NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
  SESSION_SECRET: 'x'.repeat(32),
  RADIUS_SERVERS: 'radius1.example.net, [2001:db8::5]:11812,10.0.0.7:1645',
  RADIUS_SECRET: 'testing123',
};

function radiusOf(config: Config): RadiusConfig {
  if (config.aaa.method !== 'radius') throw new Error('expected RADIUS');
  return config.aaa.radius;
}

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
    expect(config.edge).toEqual({ tls: undefined, httpRedirectPort: undefined, shutdownGraceMs: 25_000, maxConnections: 10_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, hstsMaxAgeSeconds: 31_536_000, adminAllowFrom: ['loopback'] });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.netbox.sessionMode).toBe('password');
    expect(config.netbox.remoteUserHeader).toBe('Remote-User');
    expect(config.session.store).toBe('sqlite');
    expect(config.session.idleTimeoutMs).toBe(3_600_000);
    expect(config.session.maxAgeMs).toBe(12 * 3_600_000);
    expect(config.provisioning).toMatchObject({
      autoCreateUser: true,
      syncMode: 'managed',
      username: { stripDomain: false, stripRealm: false, caseFold: 'preserve' },
    });
    expect(config.netbox).toMatchObject({ remoteUserGroupHeader: 'Remote-User-Group', remoteUserGroupSeparator: '|' });
    expect(config.roles).toMatchObject({ defaultGroups: [], superuserGroups: [], staffGroups: [], requireRole: false });
    if (config.aaa.method !== 'radius') throw new Error('expected RADIUS by default');
    expect(config.aaa.radius).toMatchObject({ timeoutMs: 3000, retries: 2, nasIdentifier: 'netbox-aaa-gateway' });
    const udp = { transport: 'udp', requireMessageAuthenticator: 'auto' };
    expect(config.aaa.radius.servers).toEqual([
      { host: 'radius1.example.net', port: 1812, ...udp },
      { host: '2001:db8::5', port: 11812, ...udp },
      { host: '10.0.0.7', port: 1645, ...udp },
    ]);
    expect(config.aaa).toMatchObject({ deadTimeMs: 60_000, probeIntervalMs: 10_000 });
    expect(config.aaa.radius).toMatchObject({ probe: false, challengeTimeoutMs: 60_000, nasIpAddress: undefined, sourceAddress: undefined });
    expect(config.aaa.radius.accounting).toEqual({
      enabled: false,
      servers: config.aaa.radius.servers.map((server) => ({ ...server, port: 1813 })),
    });
  });

  it('reports every problem at once, naming the variable', () => {
    const problems = problemsOf({
      NETBOX_URL: 'ftp://netbox',
      NETBOX_TOKEN: 'short',
      SESSION_SECRET: 'too-short',
      RADIUS_SERVERS: '2001:db8::5:1812,ok:99999',
      LISTEN_PORT: '80a',
      GROUP_SYNC: 'maybe',
      SESSION_STORE: 'postgres',
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
    expect(radiusOf(loadConfig({ ...withoutSecret, RADIUS_SECRET_FILE: file })).secret).toBe('from-a-file');
    expect(problemsOf({ ...valid, RADIUS_SECRET_FILE: file }).join('\n')).toContain('choose one');
    expect(problemsOf({ ...withoutSecret, RADIUS_SECRET_FILE: join(dir, 'missing') }).join('\n')).toMatch(/RADIUS_SECRET_FILE: cannot read .*ENOENT/);
  });

  it('parses durations with units and bare seconds', () => {
    const config = loadConfig({ ...valid, SESSION_IDLE_TIMEOUT: '15m', SESSION_MAX_AGE: '1d', RADIUS_TIMEOUT: '2.5', AAA_LOGIN_TIMEOUT: '30s' });
    expect(config.session.idleTimeoutMs).toBe(900_000);
    expect(config.session.maxAgeMs).toBe(86_400_000);
    expect(radiusOf(config).timeoutMs).toBe(2500);
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

  it('reads TACACS+ servers, plain and TLS, with their default ports', () => {
    const { RADIUS_SERVERS: _s, RADIUS_SECRET: _k, ...common } = valid;
    const config = loadConfig({
      ...common,
      AAA_METHOD: 'tacacs',
      TACACS_SERVERS: 'tacacs1.example.net, tls://tacacs2.example.net, [2001:db8::49]:4949, tls://[::1]:3000',
      TACACS_TLS_CA_FILE: caFile,
      TACACS_SECRET: 'k'.repeat(16),
      TACACS_AUTH_TYPE: 'ASCII',
      TACACS_SERVICE: 'netbox',
    });
    if (config.aaa.method !== 'tacacs') throw new Error('expected TACACS+');
    expect(config.aaa.tacacs.servers).toEqual([
      { host: 'tacacs1.example.net', port: 49, tls: false },
      { host: 'tacacs2.example.net', port: 300, tls: true },
      { host: '2001:db8::49', port: 4949, tls: false },
      { host: '::1', port: 3000, tls: true },
    ]);
    expect(config.aaa.tacacs).toMatchObject({ authType: 'ascii', service: 'netbox', portName: 'netbox-aaa-gateway', authorization: true, accounting: true, timeoutMs: 5000 });
  });

  it('refuses short TACACS+ keys unless allowed, and needs no key when every server uses TLS', () => {
    const { RADIUS_SERVERS: _s, RADIUS_SECRET: _k, ...common } = valid;
    const tacacs = { ...common, AAA_METHOD: 'tacacs', TACACS_SERVERS: '192.0.2.49' };
    expect(problemsOf({ ...tacacs, TACACS_SECRET: 'short-key' }).join('\n')).toContain('TACACS_SECRET: is 9 characters; RFC 8907 asks for at least 16');
    expect(loadConfig({ ...tacacs, TACACS_SECRET: 'short-key', TACACS_ALLOW_SHORT_KEY: 'true' }).aaa.method).toBe('tacacs');
    expect(problemsOf(tacacs).join('\n')).toContain('TACACS_SECRET: is required');
    expect(loadConfig({ ...tacacs, TACACS_SERVERS: 'tls://192.0.2.49', TACACS_TLS_CA_FILE: caFile }).aaa.method).toBe('tacacs');
    expect(problemsOf({ ...tacacs, TACACS_SERVERS: 'tls://192.0.2.49' })).toEqual([
      "TACACS_TLS_CA_FILE: is required for TLS servers: the PEM file of the CA that signs the servers' certificates (to trust the public CAs instead, name the system bundle, e.g. /etc/ssl/certs/ca-certificates.crt)",
    ]);
    expect(problemsOf({ ...tacacs, TACACS_SERVERS: 'tls://192.0.2.49', TACACS_TLS_CA_FILE: '/nonexistent/ca.pem', TACACS_TLS_CERT_FILE: '/etc/hostname' }).join('\n')).toMatch(
      /TACACS_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem[\s\S]*TACACS_TLS_CERT_FILE: and TACACS_TLS_KEY_FILE go together/,
    );
  });

  it('reads RadSec servers, per-server Message-Authenticator policies and the RADIUS extras', () => {
    const config = radiusOf(
      loadConfig({
        ...valid,
        RADIUS_SERVERS: 'radsec://radius1.example.net,10.0.0.7',
        RADIUS_TLS_CA_FILE: caFile,
        RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR: 'true,false',
        RADIUS_NAS_IP_ADDRESS: '192.0.2.10',
        RADIUS_SOURCE_ADDRESS: '::1',
        RADIUS_ACCOUNTING: 'true',
        RADIUS_ACCOUNTING_SERVERS: '10.0.0.8',
        RADIUS_CHALLENGE_TIMEOUT: '90s',
      }),
    );
    expect(config.servers).toEqual([
      { host: 'radius1.example.net', port: 2083, transport: 'radsec', requireMessageAuthenticator: 'yes' },
      { host: '10.0.0.7', port: 1812, transport: 'udp', requireMessageAuthenticator: 'no' },
    ]);
    expect(config).toMatchObject({ nasIpAddress: '192.0.2.10', sourceAddress: '::1', challengeTimeoutMs: 90_000 });
    expect(config.accounting).toEqual({ enabled: true, servers: [{ host: '10.0.0.8', port: 1813, transport: 'udp', requireMessageAuthenticator: 'no' }] });
    const { RADIUS_SECRET: _k, ...withoutSecret } = valid;
    expect(radiusOf(loadConfig({ ...withoutSecret, RADIUS_SERVERS: 'radsec://[::1]', RADIUS_TLS_CA_FILE: caFile })).servers[0]).toMatchObject({ host: '::1', port: 2083 });
    expect(problemsOf({ ...withoutSecret, RADIUS_SERVERS: 'radsec://[::1]' }).join('\n')).toContain('RADIUS_TLS_CA_FILE: is required for TLS servers');
    const problems = problemsOf({ ...valid, RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR: 'true,maybe,auto,no', RADIUS_NAS_IP_ADDRESS: '2001:db8::1', AAA_DEAD_TIME: 'forever' });
    expect(problems.join('\n')).toContain('RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR: must be true, false or auto (one value, or one per server), got "maybe"');
    expect(problems.join('\n')).toContain('RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR: has 4 values for 3 servers');
    expect(problems.join('\n')).toContain('RADIUS_NAS_IP_ADDRESS: must be an IPv4 address');
    expect(problems.join('\n')).toContain('AAA_DEAD_TIME');
  });

  it('takes GROUP_SYNC=true|false as aliases of the sync modes, and refuses a contradiction', () => {
    expect(loadConfig({ ...valid, GROUP_SYNC: 'true' }).provisioning.syncMode).toBe('replace');
    expect(loadConfig({ ...valid, GROUP_SYNC: 'false' }).provisioning.syncMode).toBe('add');
    expect(loadConfig({ ...valid, GROUP_SYNC_MODE: 'add' }).provisioning.syncMode).toBe('add');
    expect(problemsOf({ ...valid, GROUP_SYNC: 'true', GROUP_SYNC_MODE: 'managed' })).toEqual(['GROUP_SYNC: says replace but GROUP_SYNC_MODE says managed; remove GROUP_SYNC']);
    expect(problemsOf({ ...valid, REMOTE_USER_GROUP_SEPARATOR: 'ab' }).join('\n')).toContain('REMOTE_USER_GROUP_SEPARATOR');
  });

  it('reports role settings problems with the rest', () => {
    const problems = problemsOf({ ...valid, PRIV_LVL_GROUP_TEMPLATE: 'admins', LISTEN_PORT: 'x' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(['PRIV_LVL_GROUP_TEMPLATE', 'LISTEN_PORT']));
  });

  it('derives a NetBox password key independent of the session secret unless one is given', () => {
    const derived = loadConfig(valid).netbox.passwordSecret;
    expect(derived).not.toBe(valid.SESSION_SECRET);
    expect(derived.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ ...valid, NETBOX_PASSWORD_SECRET: 'p'.repeat(40) }).netbox.passwordSecret).toBe('p'.repeat(40));
  });
});

describe('front door settings', () => {
  it('reads them', () => {
    const config = loadConfig({ ...valid, MAX_CONNECTIONS: '500', HEADERS_TIMEOUT: '2s', KEEPALIVE_TIMEOUT: '65', HSTS_MAX_AGE: '0', ADMIN_ALLOW_FROM: 'loopback, 10.0.0.0/8, 2001:db8::1' });
    expect(config.edge).toMatchObject({ maxConnections: 500, headersTimeoutMs: 2_000, keepAliveTimeoutMs: 65_000, hstsMaxAgeSeconds: 0, adminAllowFrom: ['loopback', '10.0.0.0/8', '2001:db8::1'] });
  });

  it.each([
    ['MAX_CONNECTIONS', '0'],
    ['HEADERS_TIMEOUT', 'soon'],
    ['KEEPALIVE_TIMEOUT', '0'],
    ['HSTS_MAX_AGE', '-1'],
    ['ADMIN_ALLOW_FROM', 'everyone'],
    ['ADMIN_ALLOW_FROM', '10.0.0.0/33'],
  ])('names %s=%s as the problem', (name, value) => {
    expect(problemsOf({ ...valid, [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });
});

describe('listener TLS settings', () => {
  const certs = makeTestCertificates();
  afterAll(() => certs.remove());
  const tls = { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile };

  it('reads a certificate and key that go together', () => {
    const config = loadConfig({ ...valid, ...tls, TLS_MIN_VERSION: 'TLSv1.3', HTTP_REDIRECT_PORT: '80', SHUTDOWN_GRACE: '40s' });
    expect(config.edge).toMatchObject({ tls: { ...{ certFile: tls.TLS_CERT_FILE, keyFile: tls.TLS_KEY_FILE }, minVersion: 'TLSv1.3' }, httpRedirectPort: 80, shutdownGraceMs: 40_000 });
  });

  it.each([
    [{ TLS_CERT_FILE: certs.server.certFile }, /^TLS_KEY_FILE: goes with/],
    [{ TLS_KEY_FILE: certs.server.keyFile }, /^TLS_CERT_FILE: goes with/],
    [{ ...tls, TLS_CERT_FILE: '/nonexistent/cert.pem' }, /^TLS_CERT_FILE: cannot read \/nonexistent\/cert\.pem \(ENOENT\)/],
    [{ ...tls, TLS_CERT_FILE: certs.server.keyFile }, /^TLS_CERT_FILE: .* holds no PEM certificate/],
    [{ ...tls, TLS_KEY_FILE: certs.server.certFile }, /^TLS_KEY_FILE: .* holds no PEM private key/],
    [{ ...tls, TLS_KEY_FILE: certs.rogueServer.keyFile }, /^TLS_KEY_FILE: cannot be used with TLS_CERT_FILE: /],
    [{ ...tls, TLS_MIN_VERSION: 'TLSv1.1' }, /^TLS_MIN_VERSION: must be one of tlsv1\.2, tlsv1\.3/],
    [{ HTTP_REDIRECT_PORT: '80' }, /^HTTP_REDIRECT_PORT: redirects to HTTPS, so it needs TLS_CERT_FILE and TLS_KEY_FILE/],
    [{ SHUTDOWN_GRACE: 'later' }, /^SHUTDOWN_GRACE: /],
  ])('names the problem with %j', (env, problem) => {
    expect(problemsOf({ ...valid, ...env })).toEqual([expect.stringMatching(problem)]);
  });
});
