import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegulationConfig, UsernameRules } from '../../src/config/types.js';
import { LoginRegulation } from '../../src/regulation/regulator.js';
import { SqliteRegulationStore } from '../../src/regulation/sqlite-store.js';
import { addressSubject, userSubject } from '../../src/regulation/subjects.js';
import { recorder } from '../support/log-recorder.js';

const T = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DEFAULTS: RegulationConfig = { maxRetries: 5, maxRetriesPerAddress: 20, findTimeMs: 10 * MINUTE, banTimeMs: 15 * MINUTE };
const RULES: UsernameRules = { stripDomain: false, stripRealm: true, allowedDomains: [], allowedRealms: [], caseFold: 'preserve' };

describe('LoginRegulation', () => {
  let now: number;
  let store: SqliteRegulationStore;
  let log: ReturnType<typeof recorder>;
  const regulation = (settings: Partial<RegulationConfig> = {}) =>
    new LoginRegulation({ store, settings: { ...DEFAULTS, ...settings }, usernameRules: RULES, logger: log, now: () => now });
  const bans = () => log.lines.filter((line) => line.startsWith('warn too many failed sign-ins: banned '));

  beforeEach(() => {
    now = T;
    log = recorder();
    store = new SqliteRegulationStore(':memory:', log);
  });
  afterEach(async () => {
    await store.close();
  });

  async function fail(policy: LoginRegulation, username: string, address: string, times: number, stepMs = 0): Promise<void> {
    for (let i = 0; i < times; i += 1) {
      if (i > 0) now += stepMs;
      await policy.failed(policy.subjects(username, address));
    }
  }

  it('lets the failure that reaches the limit through and refuses every attempt after it for the ban time', async () => {
    const policy = regulation();
    const alice = policy.subjects('alice', '192.0.2.7');
    await fail(policy, 'alice', '192.0.2.7', 4);
    expect(await policy.check(alice)).toEqual({ kind: 'allowed' });
    await policy.failed(alice);
    expect(await policy.check(alice)).toEqual({ kind: 'banned', until: T + 15 * MINUTE, retryAfterSeconds: 900 });
    now = T + 15 * MINUTE - 1500;
    expect(await policy.check(alice)).toEqual({ kind: 'banned', until: T + 15 * MINUTE, retryAfterSeconds: 2 });
    now = T + 15 * MINUTE - 1;
    expect(await policy.check(alice)).toMatchObject({ kind: 'banned', retryAfterSeconds: 1 });
    now = T + 15 * MINUTE;
    expect(await policy.check(alice)).toEqual({ kind: 'allowed' });
  });

  it('logs each ban once, with the subject, its name and the end, and never the password', async () => {
    const policy = regulation();
    await fail(policy, 'Alice@example.net', '192.0.2.7', 7);
    expect(bans()).toEqual([
      `warn too many failed sign-ins: banned ${JSON.stringify({ subject: 'user', username: 'alice', failures: 5, until: '2030-01-01T12:15:00.000Z' })}`,
    ]);
  });

  it('counts only the failures within the find time (a sliding window)', async () => {
    const policy = regulation({ findTimeMs: 10 * MINUTE });
    const alice = policy.subjects('alice', '192.0.2.7');
    // Five failures 3 minutes apart: never more than four within 10 minutes.
    await fail(policy, 'alice', '192.0.2.7', 5, 3 * MINUTE);
    expect(await policy.check(alice)).toEqual({ kind: 'allowed' });
    // Four at T+3..T+12 minutes are inside the window at T+12m59s: a fifth bans.
    now += 59 * SECOND;
    await policy.failed(alice);
    expect(await policy.check(alice)).toMatchObject({ kind: 'banned', until: now + 15 * MINUTE });
    expect(bans()).toHaveLength(1);
  });

  it('bans for exactly the configured ban time', async () => {
    const policy = regulation({ banTimeMs: 42 * SECOND });
    const alice = policy.subjects('alice', '192.0.2.7');
    await fail(policy, 'alice', '192.0.2.7', 5);
    expect(await policy.check(alice)).toEqual({ kind: 'banned', until: T + 42 * SECOND, retryAfterSeconds: 42 });
    now = T + 42 * SECOND;
    expect(await policy.check(alice)).toEqual({ kind: 'allowed' });
  });

  it('forgets the user’s failures on success, but not the address’s', async () => {
    const policy = regulation({ maxRetries: 3, maxRetriesPerAddress: 5 });
    await fail(policy, 'alice', '192.0.2.7', 2);
    await policy.succeeded(policy.subjects('alice', '192.0.2.7'));
    await fail(policy, 'alice', '192.0.2.7', 2);
    expect(await policy.check(policy.subjects('alice', '192.0.2.99'))).toEqual({ kind: 'allowed' });
    // The address has four failures; a fifth, under another name, bans it.
    await fail(policy, 'mallory', '192.0.2.7', 1);
    expect(await policy.check(policy.subjects('alice', '192.0.2.7'))).toMatchObject({ kind: 'banned' });
    expect(await policy.check(policy.subjects('alice', '192.0.2.99'))).toEqual({ kind: 'allowed' });
    expect(bans()).toEqual([expect.stringContaining('{"subject":"address","address":"192.0.2.7","failures":5,')]);
  });

  it('counts the address independently of the user name, and the user independently of the address', async () => {
    const policy = regulation({ maxRetries: 3, maxRetriesPerAddress: 4 });
    for (const name of ['u1', 'u2', 'u3', 'u4']) await fail(policy, name, '198.51.100.1', 1);
    expect(await policy.check(policy.subjects('someone-else', '198.51.100.1'))).toMatchObject({ kind: 'banned' });
    expect(await policy.check(policy.subjects('u1', '198.51.100.2'))).toEqual({ kind: 'allowed' });

    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await fail(policy, 'bob', address, 1);
    expect(await policy.check(policy.subjects('bob', '203.0.113.200'))).toMatchObject({ kind: 'banned' });
    expect(await policy.check(policy.subjects('carol', '203.0.113.1'))).toEqual({ kind: 'allowed' });
  });

  it('gives the later end when both the user and the address are banned', async () => {
    const policy = regulation({ maxRetries: 2, maxRetriesPerAddress: 3 });
    await fail(policy, 'alice', '192.0.2.7', 2);
    now += 10 * SECOND;
    await fail(policy, 'bob', '192.0.2.7', 1);
    expect(await policy.check(policy.subjects('alice', '192.0.2.7'))).toEqual({ kind: 'banned', until: now + 15 * MINUTE, retryAfterSeconds: 900 });
  });

  it('counts the NetBox user name: realm stripped, any case', async () => {
    const policy = regulation({ maxRetries: 3, maxRetriesPerAddress: 0 });
    await fail(policy, 'alice', '192.0.2.1', 1);
    await fail(policy, 'ALICE', '192.0.2.2', 1);
    await fail(policy, 'Alice@example.net', '192.0.2.3', 1);
    expect(await policy.check(policy.subjects('aLiCe', '192.0.2.4'))).toMatchObject({ kind: 'banned' });
  });

  it('groups an IPv6 /64 and unwraps IPv4-mapped addresses', async () => {
    const policy = regulation({ maxRetries: 100, maxRetriesPerAddress: 3 });
    await fail(policy, 'u1', '2001:db8:1:2::1', 1);
    await fail(policy, 'u2', '2001:db8:1:2:ffff:ffff:ffff:ffff', 1);
    await fail(policy, 'u3', '2001:0db8:0001:0002:0:0:0:abcd', 1);
    expect(await policy.check(policy.subjects('u4', '2001:db8:1:2:1234::5'))).toMatchObject({ kind: 'banned' });
    expect(await policy.check(policy.subjects('u4', '2001:db8:1:3::1'))).toEqual({ kind: 'allowed' });

    await fail(policy, 'u5', '::ffff:198.51.100.7', 2);
    await fail(policy, 'u6', '198.51.100.7', 1);
    expect(await policy.check(policy.subjects('u7', '198.51.100.7'))).toMatchObject({ kind: 'banned' });
    expect(bans().map((line) => /"address":"([^"]+)"/.exec(line)?.[1])).toEqual(['2001:db8:1:2::/64', '198.51.100.7']);
  });

  it('never bans with REGULATION_MAX_RETRIES=0, and never touches the store', async () => {
    const policy = regulation({ maxRetries: 0 });
    await fail(policy, 'alice', '192.0.2.7', 50);
    expect(await policy.check(policy.subjects('alice', '192.0.2.7'))).toEqual({ kind: 'allowed' });
    expect(await store.addFailure('user:alice', now, MINUTE)).toBe(1);
    expect(await store.addFailure('address:192.0.2.7', now, MINUTE)).toBe(1);
    expect(bans()).toEqual([]);
  });

  it('counts no address with REGULATION_MAX_RETRIES_PER_IP=0, and still counts users', async () => {
    const policy = regulation({ maxRetriesPerAddress: 0 });
    for (let i = 0; i < 30; i += 1) await fail(policy, `user${i}`, '192.0.2.7', 1);
    expect(await policy.check(policy.subjects('alice', '192.0.2.7'))).toEqual({ kind: 'allowed' });
    await fail(policy, 'alice', '192.0.2.7', 5);
    expect(await policy.check(policy.subjects('alice', '192.0.2.8'))).toMatchObject({ kind: 'banned' });
  });

  it('still counts the address of a name NetBox cannot have', async () => {
    const policy = regulation({ maxRetriesPerAddress: 2 });
    const odd = policy.subjects('not a name!', '192.0.2.7');
    expect(odd).toEqual({ user: undefined, address: '192.0.2.7' });
    await policy.failed(odd);
    await policy.failed(odd);
    expect(await policy.check(policy.subjects('alice', '192.0.2.7'))).toMatchObject({ kind: 'banned' });
  });
});

describe('regulation subjects', () => {
  it('are the NetBox user name, lower-cased', () => {
    expect(userSubject('Alice@Example.NET', RULES)).toBe('alice');
    expect(userSubject('EXAMPLE\\Bob', RULES)).toBeUndefined();
    expect(userSubject('EXAMPLE\\Bob', { ...RULES, stripDomain: true })).toBe('bob');
  });

  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:c000:0207', '192.0.2.7'],
    ['0:0:0:0:0:ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:DB8:0:0:1::1', '2001:db8::/64'],
    ['2001:db8:aa:bb:cc:dd:ee:ff', '2001:db8:aa:bb::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b::/64'],
    ['', undefined],
  ])('are the address %j as %j', (address, subject) => {
    expect(addressSubject(address)).toBe(subject);
  });

  it('put every address of one /64 together, and no two /64s', () => {
    const hextets = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 });
    const write = (groups: number[]) => groups.map((group) => group.toString(16)).join(':');
    fc.assert(
      fc.property(hextets, hextets, hextets, (prefix, hostA, hostB) => {
        fc.pre(!(prefix.slice(0, 3).every((g) => g === 0) && prefix[3] === 0)); // not ::/64, where the mapped IPv4 live
        expect(addressSubject(write([...prefix, ...hostA]))).toBe(addressSubject(write([...prefix, ...hostB])));
        const other = [...prefix.slice(0, 3), ((prefix[3] ?? 0) + 1) % 0x10000];
        expect(addressSubject(write([...other, ...hostA]))).not.toBe(addressSubject(write([...prefix, ...hostA])));
      }),
    );
  });
});
