import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const configDir = new URL('../../src/config/', import.meta.url);
/** Every reader of the configuration, so a new `src/config/*.ts` cannot add variables that go undocumented. */
const source = readdirSync(configDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => readFileSync(new URL(file, configDir), 'utf8'))
  .join('\n');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

/**
 * Every variable the loader reads: the name given to each EnvReader call or to a helper taking the reader;
 * `readTls` takes a prefix for its four variables.
 */
const variables = [
  ...new Set(
    [...source.matchAll(/(?:read\.\w+\(|(\w+)\(read, )\s*'([A-Z][A-Z0-9_]+)'/g)].flatMap((m) =>
      m[1] === 'readTls' ? ['_CA_FILE', '_SERVER_NAME', '_CERT_FILE', '_KEY_FILE'].map((suffix) => m[2]! + suffix) : [m[2]!],
    ),
  ),
].sort();

describe('the configuration reference', () => {
  it('finds the variables the loader reads', () => {
    expect(variables).toContain('NETBOX_URL');
    expect(variables).toContain('TACACS_SERVERS');
    expect(variables.length).toBeGreaterThan(30);
  });

  it.each(variables)('documents %s in the README table and in .env.example', (name) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${name}\``, 'm'));
    expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});
