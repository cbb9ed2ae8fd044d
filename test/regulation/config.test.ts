import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env-reader.js';
import { loadConfig } from '../../src/config/load.js';

const valid = {
  NETBOX_URL: 'http://netbox:8080',
  NETBOX_TOKEN: '0123456789abcdef0123456789abcdef01234567',
  SESSION_SECRET: 'x'.repeat(32),
  RADIUS_SERVERS: 'radius1.example.net',
  RADIUS_SECRET: 'testing123',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...valid, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('login regulation settings', () => {
  it('default to 5 per user, 20 per address, within 10 minutes, banned for 15', () => {
    expect(loadConfig(valid).regulation).toEqual({ maxRetries: 5, maxRetriesPerAddress: 20, findTimeMs: 600_000, banTimeMs: 900_000 });
  });

  it('read durations like the other settings (bare numbers are seconds)', () => {
    const config = loadConfig({
      ...valid,
      REGULATION_MAX_RETRIES: '3',
      REGULATION_MAX_RETRIES_PER_IP: '0',
      REGULATION_FIND_TIME: '90',
      REGULATION_BAN_TIME: '2h',
    });
    expect(config.regulation).toEqual({ maxRetries: 3, maxRetriesPerAddress: 0, findTimeMs: 90_000, banTimeMs: 7_200_000 });
    expect(loadConfig({ ...valid, REGULATION_MAX_RETRIES: '0' }).regulation.maxRetries).toBe(0);
  });

  it('name the variable of each bad value', () => {
    expect(
      problemsOf({
        REGULATION_MAX_RETRIES: 'five',
        REGULATION_MAX_RETRIES_PER_IP: '-1',
        REGULATION_FIND_TIME: '10 minutes',
        REGULATION_BAN_TIME: '0.5s',
      }),
    ).toEqual([
      'REGULATION_MAX_RETRIES: must be a whole number from 0 to 1000, got "five"',
      'REGULATION_MAX_RETRIES_PER_IP: must be a whole number from 0 to 100000, got "-1"',
      'REGULATION_FIND_TIME: must be a duration such as 30, 2.5s, 15m, 8h or 1d (bare numbers are seconds), got "10 minutes"',
      'REGULATION_BAN_TIME: must be between 1s and 30d, got "0.5s"',
    ]);
    expect(problemsOf({ REGULATION_FIND_TIME: '2d' })).toEqual(['REGULATION_FIND_TIME: must be between 1s and 1d, got "2d"']);
  });

  it('refuse a per-address limit while regulation is off, instead of ignoring it', () => {
    expect(problemsOf({ REGULATION_MAX_RETRIES: '0', REGULATION_MAX_RETRIES_PER_IP: '50' })).toEqual([
      'REGULATION_MAX_RETRIES_PER_IP: has no effect while REGULATION_MAX_RETRIES=0 turns login regulation off; unset it or set it to 0',
    ]);
    expect(loadConfig({ ...valid, REGULATION_MAX_RETRIES: '0', REGULATION_MAX_RETRIES_PER_IP: '0' }).regulation.maxRetriesPerAddress).toBe(0);
  });
});
