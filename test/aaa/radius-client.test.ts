import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createRadiusAuthenticator } from '../../src/aaa/radius/authenticator.js';
import { DEFAULT_CHALLENGE_PROMPT, RadiusClient, type RadiusClientOptions } from '../../src/aaa/radius/client.js';
import { Attr } from '../../src/aaa/radius/dictionary.js';
import { InvalidCredentials, type AuthRequest, type ServerVerdict } from '../../src/aaa/types.js';
import type { RadiusConfig, RadiusServer } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer, troubleOf, unusedPort, type RunningRadiusTestServer } from '../support/radius-server.js';

const SECRET = 'client-test-secret';
const USERS = {
  alice: {
    password: 'wonderland',
    attributes: [
      ['Class', 'netbox-admin'],
      ['Class', 'group=ops'],
      ['Cisco-AVPair', 'shell:roles="netbox-admin netbox-ops"'],
      ['Cisco-AVPair', 'shell:priv-lvl=15'],
      ['Filter-Id', 'netbox-readonly'],
      ['Service-Type', '6'],
      ['26:14823:1', 'netbox-admin'],
      ['99', Buffer.from('fffe', 'hex')],
    ],
  },
  carol: {
    password: 'looking-glass',
    challenges: [{ prompt: 'Enter your one-time code', answer: '123456' }],
    attributes: [['Class', 'otp-user']],
  },
  dave: {
    password: 'two-steps',
    challenges: [
      { prompt: 'Enter your one-time code', answer: '111111' },
      { prompt: 'Approve the push notification, then type "done"', answer: 'done' },
    ],
    attributes: [['Class', 'two-step-user']],
  },
} as const;
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };

let server: RadiusTestServer;
let running: RunningRadiusTestServer;
const extraServers: RunningRadiusTestServer[] = [];

beforeEach(async () => {
  server = new RadiusTestServer({ secret: SECRET, users: USERS });
  running = await server.start({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await running.close();
  await Promise.all(extraServers.splice(0).map((s) => s.close()));
});

function udp(port: number, host = '127.0.0.1'): RadiusServer {
  return { host, port, transport: 'udp', requireMessageAuthenticator: 'auto' };
}

function client(overrides: Partial<RadiusClientOptions> = {}): RadiusClient {
  return new RadiusClient({
    server: udp(running.port),
    secret: SECRET,
    timeoutMs: 150,
    retries: 1,
    challengeTimeoutMs: 150,
    nasIdentifier: 'netbox-gw-test',
    logger: silentLogger,
    ...overrides,
  });
}

const noDeadline = (): AbortSignal => new AbortController().signal;

async function extraServer(users: ConstructorParameters<typeof RadiusTestServer>[0]['users'] = USERS, host = '127.0.0.1') {
  const test = new RadiusTestServer({ secret: SECRET, users });
  const started = await test.start({ host, port: 0 });
  extraServers.push(started);
  return { test, started };
}

describe('RadiusClient against the test server', () => {
  it('returns an accept with every reply attribute by name, Cisco-AVPairs also split', async () => {
    const verdict = await client().verify(alice, noDeadline());
    expect(verdict.kind).toBe('accept');
    if (verdict.kind !== 'accept') return;
    expect(verdict.attributes.toJSON()).toEqual({
      Class: ['netbox-admin', 'group=ops'],
      'Cisco-AVPair': ['shell:roles="netbox-admin netbox-ops"', 'shell:priv-lvl=15'],
      'Filter-Id': ['netbox-readonly'],
      'Service-Type': ['6'],
      'Aruba-User-Role': ['netbox-admin'],
      '99': ['0xfffe'],
      'shell:roles': ['netbox-admin', 'netbox-ops'],
      'shell:priv-lvl': ['15'],
    });
  });

  it('sends Message-Authenticator first, then the user, NAS and caller attributes', async () => {
    await client().verify(alice, noDeadline());
    const [received] = server.requests;
    expect(received?.messageAuthenticator).toBe('valid');
    expect(received?.packet.attributes.map((a) => a.type)).toEqual([80, 1, 2, 32, 6, 31]);
    expect(received?.attributes).toEqual([
      ['User-Name', 'alice'],
      ['NAS-Identifier', 'netbox-gw-test'],
      ['Service-Type', '1'],
      ['Calling-Station-Id', '192.0.2.7'],
    ]);
  });

  it('sends NAS-IP-Address when configured', async () => {
    await client({ nasIpAddress: '198.51.100.20' }).verify(alice, noDeadline());
    expect(server.requests[0]?.packet.attributes.map((a) => a.type)).toEqual([80, 1, 2, 32, 4, 6, 31]);
    expect(server.requests[0]?.attributes).toContainEqual(['NAS-IP-Address', '198.51.100.20']);
  });

  it('sends from the configured source address', async () => {
    // All of 127.0.0.0/8 is loopback on Linux, so 127.0.0.2 is a second local address without any setup.
    expect((await client({ sourceAddress: '127.0.0.2' }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(server.requests[0]?.from.address).toBe('127.0.0.2');
    const error = await troubleOf(client({ sourceAddress: '::1' }).verify(alice, noDeadline()));
    expect(error.reason).toBe('network');
    expect(error.message).toContain('cannot reach an IPv4 server');
  });

  it('uses a fresh Request Authenticator for every new request', async () => {
    const c = client();
    await c.verify(alice, noDeadline());
    await c.verify(alice, noDeadline());
    const [first, second] = server.requests;
    expect(first?.packet.authenticator.equals(second!.packet.authenticator)).toBe(false);
  });

  it('returns a reject with the Reply-Message for a wrong password and an unknown user', async () => {
    expect(await client().verify({ ...alice, password: 'wrong' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
    expect(await client().verify({ ...alice, username: 'mallory' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
  });

  it('treats replies signed with the wrong secret as bad replies, never as an answer', async () => {
    server.faults.wrongSecret = true;
    const logger = recorder();
    const error = await troubleOf(client({ retries: 2, logger }).verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(server.requests).toHaveLength(2);
    expect(logger.lines.some((l) => l.startsWith('warn RADIUS reply ignored') && l.includes('response-authenticator'))).toBe(true);
    expect(logger.lines.join('\n')).not.toContain(SECRET);
    expect(logger.lines.join('\n')).not.toContain(alice.password);
  });

  it('ignores a well-formed reply with a random authenticator', async () => {
    server.faults.garbage = true;
    expect((await troubleOf(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('never sees a reply sent from another port', async () => {
    server.faults.replyFromOtherPort = true;
    expect((await troubleOf(client().verify(alice, noDeadline()))).reason).toBe('timeout');
    expect(server.requests).toHaveLength(1);
  });

  it('times out on a black hole after retransmitting the identical octets from the same port', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const error = await troubleOf(client({ retries: 3, timeoutMs: 80 }).verify(alice, noDeadline()));
    expect(error.reason).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(230);
    expect(server.requests).toHaveLength(3);
    // RFC 5080 §2.2.1: same Identifier, same authenticator, same octets, so the server can spot the duplicate.
    const [first, ...rest] = server.requests.map((r) => r.raw.toString('hex'));
    expect(rest).toEqual([first, first]);
    expect(new Set(server.requests.map((r) => r.from.port)).size).toBe(1);
  });

  it('gets the answer to a retransmission when the first transmission was lost', async () => {
    server.faults.dropRequests = 1;
    expect((await client({ retries: 2, timeoutMs: 80 }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.raw.equals(server.requests[1]!.raw)).toBe(true);
  });

  it('reports a closed port as refused at once, well under the timeout', async () => {
    const port = await unusedPort('127.0.0.1', 'udp');
    const started = performance.now();
    const error = await troubleOf(client({ server: udp(port), timeoutMs: 600, retries: 3 }).verify(alice, noDeadline()));
    expect(error.reason).toBe('refused');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('honours the abort signal while waiting', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const error = await troubleOf(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(60)));
    expect(error.reason).toBe('deadline');
    expect(performance.now() - started).toBeLessThan(300);
    const aborted = new AbortController();
    aborted.abort();
    expect((await troubleOf(client().verify(alice, aborted.signal))).reason).toBe('deadline');
  });

  it('refuses a password over 128 bytes before sending anything', async () => {
    await expect(client().verify({ ...alice, password: 'p'.repeat(129) }, noDeadline())).rejects.toThrow(InvalidCredentials);
    expect(server.requests).toHaveLength(0);
  });

  it('works over IPv6 loopback', async () => {
    const { test: v6, started } = await extraServer(USERS, '::1');
    const c = client({ server: udp(started.port, '::1') });
    expect(c.name).toBe(`[::1]:${started.port}`);
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(v6.requests[0]?.from.address).toBe('::1');
    const port = await unusedPort('::1', 'udp');
    expect((await troubleOf(client({ server: udp(port, '::1') }).verify(alice, noDeadline()))).reason).toBe('refused');
  });

  it('leaves no socket open, whatever the outcome', async () => {
    const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    // A closed socket releases its handle on a later turn of the event loop: let earlier tests' sockets go.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = udpHandles();
    await client().verify(alice, noDeadline());
    await client().probe(noDeadline());
    server.faults.blackHole = true;
    await troubleOf(client({ timeoutMs: 30 }).verify(alice, noDeadline()));
    await troubleOf(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(30)));
    await troubleOf(client({ server: udp(await unusedPort('127.0.0.1', 'udp')) }).verify(alice, noDeadline()));
    await vi.waitFor(() => expect(udpHandles()).toBe(before), { timeout: 200, interval: 5 });
  });

  it('answers 300 concurrent logins through one client, each with its own reply', async () => {
    const users = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`user${i}`, { password: `password-${i}`, attributes: [['Class', `class-of-user${i}`]] as const }]),
    );
    const { test: busy, started } = await extraServer(users);
    // Generous timeouts: the point is that nothing is lost or crossed, not speed on a loaded CI machine.
    const c = client({ server: udp(started.port), timeoutMs: 2_000, retries: 2 });
    const verdicts = await Promise.all(
      Array.from({ length: 300 }, (_, i) => c.verify({ username: `user${i}`, password: `password-${i}`, clientAddress: `10.0.${i >> 8}.${i & 255}` }, noDeadline())),
    );
    verdicts.forEach((verdict, i) => {
      expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual([`class-of-user${i}`]);
    });
    expect(new Set(busy.requests.map((r) => r.attributes.find(([n]) => n === 'User-Name')?.[1])).size).toBe(300);
  });
});

describe('Access-Challenge', () => {
  const carol: AuthRequest = { username: 'carol', password: 'looking-glass', clientAddress: '192.0.2.9' };

  async function challenged(c: RadiusClient, request: AuthRequest): Promise<Extract<ServerVerdict, { kind: 'challenge' }>> {
    const verdict = await c.verify(request, noDeadline());
    if (verdict.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(verdict)}`);
    return verdict;
  }

  function answer(c: RadiusClient, request: AuthRequest, state: string, text: string): Promise<ServerVerdict> {
    return c.verify({ ...request, password: text, challenge: { server: c.name, prompt: 'unused', state } }, noDeadline());
  }

  it('returns the prompt and the State, and accepts the right answer sent back with that State', async () => {
    const c = client();
    const challenge = await challenged(c, carol);
    expect(challenge.prompt).toBe('Enter your one-time code');
    const state = Buffer.from(challenge.state, 'base64');
    expect(state).toHaveLength(12);

    const verdict = await answer(c, carol, challenge.state, '123456');
    expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual(['otp-user']);
    // The answer is a complete Access-Request: user, answer as User-Password, State unmodified, NAS and caller.
    const sent = server.requests[1]!;
    expect(sent.messageAuthenticator).toBe('valid');
    expect(sent.packet.attributes.map((a) => a.type)).toEqual([80, 1, 2, 32, 6, 31, 24]);
    expect(sent.packet.attributes.find((a) => a.type === Attr.State)?.value.equals(state)).toBe(true);
  });

  it('rejects a wrong answer and a State that was already used', async () => {
    const c = client();
    const first = await challenged(c, carol);
    expect((await answer(c, carol, first.state, '000000')).kind).toBe('reject');
    const second = await challenged(c, carol);
    expect((await answer(c, carol, second.state, '123456')).kind).toBe('accept');
    expect((await answer(c, carol, second.state, '123456')).kind).toBe('reject');
  });

  it('goes through a second challenge round', async () => {
    const c = client();
    const dave: AuthRequest = { username: 'dave', password: 'two-steps', clientAddress: '192.0.2.9' };
    const first = await challenged(c, dave);
    const secondVerdict = await answer(c, dave, first.state, '111111');
    if (secondVerdict.kind !== 'challenge') throw new Error(`expected a second challenge, got ${secondVerdict.kind}`);
    expect(secondVerdict.prompt).toBe('Approve the push notification, then type "done"');
    expect(secondVerdict.state).not.toBe(first.state);
    const verdict = await answer(c, dave, secondVerdict.state, 'done');
    expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual(['two-step-user']);
  });

  it('waits challengeTimeoutMs per try for the answer instead of timeoutMs', async () => {
    const c = client({ timeoutMs: 40, challengeTimeoutMs: 250, retries: 2 });
    const challenge = await challenged(c, carol);
    server.faults.blackHole = true;
    const started = performance.now();
    expect((await troubleOf(answer(c, carol, challenge.state, '123456'))).reason).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(490);
    expect(server.requests).toHaveLength(3);
  });

  it('refuses the login on an Access-Challenge without State, rather than asking a server that may not want a second factor', async () => {
    server.faults.challengeWithoutState = true;
    const verdict = await client().verify(carol, noDeadline());
    expect(verdict).toMatchObject({ kind: 'reject', message: expect.stringContaining('State') });
  });

  it('has a prompt even when the server sends no Reply-Message', async () => {
    const { started } = await extraServer({ erin: { password: 'pw', challenges: [{ answer: 'x' }] } });
    const challenge = await challenged(client({ server: udp(started.port) }), { ...carol, username: 'erin', password: 'pw' });
    expect(challenge.prompt).toBe(DEFAULT_CHALLENGE_PROMPT);
  });
});

describe('Status-Server probe', () => {
  it('resolves on a signed Access-Accept to a signed Status-Server with the NAS attributes', async () => {
    await client({ nasIpAddress: '198.51.100.20' }).probe(noDeadline());
    expect(server.statusRequests).toHaveLength(1);
    const [probe] = server.statusRequests;
    expect(probe?.packet.code).toBe(12);
    expect(probe?.messageAuthenticator).toBe('valid');
    expect(probe?.packet.attributes.map((a) => a.type)).toEqual([80, 32, 4]);
    expect(server.requests).toHaveLength(0);
  });

  it('times out on a server that ignores Status-Server, sending it once whatever the retries', async () => {
    server.faults.ignoreStatusServer = true;
    expect((await troubleOf(client({ retries: 3, timeoutMs: 60 }).probe(noDeadline()))).reason).toBe('timeout');
    expect(server.statusRequests).toHaveLength(1);
  });

  it('reports a closed port as refused and a wrong secret as a bad reply', async () => {
    expect((await troubleOf(client({ server: udp(await unusedPort('127.0.0.1', 'udp')) }).probe(noDeadline()))).reason).toBe('refused');
    server.faults.wrongSecret = true;
    expect((await troubleOf(client().probe(noDeadline()))).reason).toBe('bad-reply');
  });

  it('honours the abort signal', async () => {
    server.faults.blackHole = true;
    expect((await troubleOf(client({ timeoutMs: 5_000 }).probe(AbortSignal.timeout(40)))).reason).toBe('deadline');
  });
});

describe('createRadiusAuthenticator', () => {
  const config = (ports: number[], secret = SECRET): RadiusConfig => ({
    servers: ports.map((port) => udp(port)),
    secret,
    timeoutMs: 80,
    retries: 2,
    nasIdentifier: 'netbox-gw-test',
    nasIpAddress: undefined,
    sourceAddress: undefined,
    challengeTimeoutMs: 80,
    accounting: { enabled: false, servers: [] },
    tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
    probe: false,
  });

  it('falls over from a black hole to the next server after its retransmissions, re-encoding the request', async () => {
    const hole = new RadiusTestServer({ secret: SECRET, users: USERS, faults: { blackHole: true } });
    const holeRunning = await hole.start({ host: '127.0.0.1', port: 0 });
    extraServers.push(holeRunning);
    const outcome = await createRadiusAuthenticator(config([holeRunning.port, running.port]), 1_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
    expect(hole.requests).toHaveLength(2);
    // RFC 5080 §2.2.1: another server gets a new request (new authenticator, so new hidden password too),
    // never a copy of the one the first server may still be processing.
    const [toFirst] = hole.requests;
    const [toSecond] = server.requests;
    expect(toSecond!.packet.authenticator.equals(toFirst!.packet.authenticator)).toBe(false);
    expect(toSecond!.raw.equals(toFirst!.raw)).toBe(false);
  });

  it('falls over from a closed port without waiting for its timeouts', async () => {
    const started = performance.now();
    const outcome = await createRadiusAuthenticator(
      { ...config([await unusedPort('127.0.0.1', 'udp'), running.port]), timeoutMs: 500 },
      2_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome.kind).toBe('accept');
    expect(performance.now() - started).toBeLessThan(300);
  });

  it('stops at the first server that rejects', async () => {
    const { test: second, started } = await extraServer();
    const outcome = await createRadiusAuthenticator(config([running.port, started.port]), 1_000, silentLogger).authenticate({
      ...alice,
      password: 'wrong',
    });
    expect(outcome).toEqual({ kind: 'reject', server: `127.0.0.1:${running.port}`, message: 'Authentication failed' });
    expect(second.requests).toHaveLength(0);
  });

  it('reports a server answering with another shared secret as unavailable (bad-reply)', async () => {
    server.faults.wrongSecret = true;
    const outcome = await createRadiusAuthenticator(config([running.port]), 1_000, silentLogger).authenticate(alice);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.error.reason)).toEqual(['bad-reply']);
  });

  it('reports our own wrong shared secret as unavailable: the server discards the request (timeout)', async () => {
    const outcome = await createRadiusAuthenticator(config([running.port], 'not-the-secret'), 1_000, silentLogger).authenticate(alice);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.error.reason)).toEqual(['timeout']);
    // The server saw the request, found its Message-Authenticator invalid and stayed silent (RFC 3579 §3.2).
    expect(server.requests.map((r) => r.messageAuthenticator)).toEqual(['invalid', 'invalid']);
  });

  it('keeps the login deadline across servers', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const outcome = await createRadiusAuthenticator(config([running.port, running.port]), 120, silentLogger).authenticate(alice);
    expect(performance.now() - started).toBeLessThan(400);
    expect(outcome.kind).toBe('unavailable');
    if (outcome.kind === 'unavailable') expect(outcome.failures.every((f) => f.error.reason === 'deadline')).toBe(true);
  });

  it('answers 300 concurrent logins, none lost or crossed', async () => {
    const users = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`user${i}`, { password: `password-${i}`, attributes: [['Filter-Id', `filter-${i}`]] as const }]),
    );
    const { started } = await extraServer(users);
    const authenticator = createRadiusAuthenticator({ ...config([started.port]), timeoutMs: 2_000 }, 10_000, silentLogger);
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => authenticator.authenticate({ username: `user${i}`, password: `password-${i}`, clientAddress: '192.0.2.1' })),
    );
    outcomes.forEach((outcome, i) => {
      expect(outcome.kind === 'accept' && outcome.attributes.all('Filter-Id')).toEqual([`filter-${i}`]);
    });
  });
});
