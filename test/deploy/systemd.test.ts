import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const UNIT = fileURLToPath(new URL('../../deploy/systemd/netbox-aaa-gateway.service', import.meta.url));

/** The unit's settings by section; repeated keys keep every value, in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

describe('the systemd unit', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const service = unit.get('Service')!;
  const one = (key: string) => service.get(key)?.at(-1);

  it('runs as an unprivileged, dynamic user with its own state directory and the settings from an env file', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(service.has('User')).toBe(false);
    expect(one('EnvironmentFile')).toBe('/etc/netbox-aaa-gateway/env');
    expect(one('StateDirectory')).toBe('netbox-aaa-gateway');
    expect(service.get('Environment')).toContain('SESSION_SQLITE_PATH=/var/lib/netbox-aaa-gateway/sessions.sqlite');
    // Secrets as credentials: each one loaded and named to the gateway as a *_FILE in the credentials folder.
    expect(service.get('LoadCredential')).toEqual(['netbox_token:/etc/netbox-aaa-gateway/netbox_token', 'session_secret:/etc/netbox-aaa-gateway/session_secret']);
    expect(service.get('Environment')).toEqual(expect.arrayContaining(['NETBOX_TOKEN_FILE=%d/netbox_token', 'SESSION_SECRET_FILE=%d/session_secret']));
    expect(one('ExecStart')).toBe('/usr/bin/node --enable-source-maps /opt/netbox-aaa-gateway/dist/main.js');
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('is locked down, and may bind 80/443 only by capability', () => {
    for (const [key, value] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', UMask: '0077' })) {
      expect(one(key), key).toBe(value);
    }
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    // V8 needs writable, executable memory: this one would stop Node at start.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('restarts on failure, reloads certificates with SIGHUP and gives the drain time to finish', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('KillSignal')).toBe('SIGTERM');
    const grace = loadConfig({
      NETBOX_URL: 'http://netbox:8080',
      NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
      SESSION_SECRET: 'x'.repeat(32),
      RADIUS_SERVERS: 'radius.example.net',
      RADIUS_SECRET: 'testing123',
    }).edge.shutdownGraceMs;
    expect(Number(one('TimeoutStopSec')) * 1000).toBeGreaterThan(grace);
  });

  it('passes systemd-analyze verify', () => {
    // systemd-analyze also reviews units the machine has installed; only what it says of this one counts.
    const run = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(`${run.stdout}${run.stderr}`.split('\n').filter((line) => line.includes('netbox-aaa-gateway'))).toEqual([]);
    expect(run.status).toBe(0);
  });
});
