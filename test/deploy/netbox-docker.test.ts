import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, type ScalarTag, type CollectionTag } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const DIR = new URL('../../deploy/netbox-docker/', import.meta.url);
const read = (name: string) => readFileSync(fileURLToPath(new URL(name, DIR)), 'utf8');

/** Compose's `!reset` (drop what the base file set): a marker the assertions can see. */
const RESET = Symbol('reset');
const resetTags: (ScalarTag | CollectionTag)[] = [
  { tag: '!reset', collection: 'seq', resolve: () => ({ [RESET]: 'seq' }) },
  { tag: '!reset', collection: 'map', resolve: () => ({ [RESET]: 'map' }) },
  { tag: '!reset', resolve: () => ({ [RESET]: 'scalar' }) },
];

interface Service {
  image?: string;
  ports?: unknown;
  depends_on?: Record<string, { condition: string }>;
  env_file?: string;
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  read_only?: boolean;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

describe('the netbox-docker compose override', () => {
  const compose = parse(read('docker-compose.override.yml'), { customTags: resetTags }) as Compose;
  const gateway = compose.services['netbox-aaa-gateway']!;

  it("stops publishing NetBox's port: only the gateway is reachable from outside", () => {
    expect(compose.services.netbox!.ports).toEqual({ [RESET]: 'seq' });
    expect(Object.keys(compose.services.netbox!)).toEqual(['ports']);
    // Plain HTTP carries passwords: by default only the host itself reaches it.
    expect(gateway.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it('reaches NetBox on the compose network once NetBox is healthy', () => {
    expect(gateway.environment?.NETBOX_URL).toBe('http://netbox:8080');
    expect(gateway.depends_on).toEqual({ netbox: { condition: 'service_healthy' } });
  });

  it('takes every secret from a file, through compose secrets', () => {
    const fileSettings = Object.entries(gateway.environment ?? {}).filter(([name]) => name.endsWith('_FILE'));
    expect(fileSettings.map(([name]) => name).sort()).toEqual(['NETBOX_TOKEN_FILE', 'RADIUS_SECRET_FILE', 'SESSION_SECRET_FILE']);
    for (const [, path] of fileSettings) {
      const name = path.replace('/run/secrets/', '');
      expect(gateway.secrets).toContain(name);
      expect(compose.secrets[name]?.file).toBe(`./secrets/${name}`);
    }
    for (const name of ['NETBOX_TOKEN', 'SESSION_SECRET', 'RADIUS_SECRET', 'TACACS_SECRET']) {
      expect(gateway.environment?.[name]).toBeUndefined();
      expect(read('env/netbox-aaa-gateway.env')).not.toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });

  it('keeps its state on a named volume, runs read-only, checks its health and drains before Docker kills it', () => {
    expect(gateway.volumes).toContain('netbox-aaa-gateway-data:/data');
    expect(compose.volumes).toHaveProperty('netbox-aaa-gateway-data');
    expect(gateway.read_only).toBe(true);
    expect(gateway.healthcheck?.test).toEqual(['CMD', 'node', 'dist/cli/healthcheck.js']);
    expect(Number.parseInt(gateway.stop_grace_period ?? '0', 10)).toBeGreaterThan(25);
  });

  it('ships an env file the gateway accepts once the compose file adds NetBox and the secrets', () => {
    const env = Object.fromEntries(
      read('env/netbox-aaa-gateway.env')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(gateway.env_file).toBe('env/netbox-aaa-gateway.env');
    const config = loadConfig({
      ...env,
      NETBOX_URL: 'http://netbox:8080',
      NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
      SESSION_SECRET: 'x'.repeat(32),
      RADIUS_SECRET: 'testing123',
    });
    expect(config.aaa.method).toBe('radius');
  });
});
