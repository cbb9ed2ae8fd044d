import { createSocket } from 'node:dgram';
import { once } from 'node:events';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createRadiusAuthenticator } from '../../src/aaa/radius/authenticator.js';
import { CHALLENGE_NOT_SUPPORTED, RadiusClient, type RadiusClientOptions } from '../../src/aaa/radius/client.js';
import { InvalidCredentials, ServerTrouble, type AuthRequest, type ServerVerdict } from '../../src/aaa/types.js';
import { silentLogger } from '../../src/log.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer, type RunningRadiusTestServer } from '../support/radius-server.js';

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
      ['99', '0xfffe'],
    ],
  },
  carol: { password: 'looking-glass', challenge: 'Enter your one-time code' },
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

function client(overrides: Partial<RadiusClientOptions> = {}): RadiusClient {
  return new RadiusClient({
    server: { host: '127.0.0.1', port: running.port },
    secret: SECRET,
    timeoutMs: 150,
    retries: 1,
    nasIdentifier: 'netbox-gw-test',
    logger: silentLogger,
    ...overrides,
  });
}

const noDeadline = (): AbortSignal => new AbortController().signal;

async function trouble(promise: Promise<ServerVerdict>): Promise<ServerTrouble> {
  const error: unknown = await promise.then(
    (verdict) => new Error(`expected ServerTrouble, got ${verdict.kind}`),
    (e: unknown) => e,
  );
  if (!(error instanceof ServerTrouble)) throw error;
  return error;
}

/** A UDP port on loopback that nothing listens on: bound, read, released. */
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.bind(0, host);
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('RadiusClient against the test server', () => {
  it('returns an accept with every reply attribute by name', async () => {
    const verdict = await client().verify(alice, noDeadline());
    expect(verdict.kind).toBe('accept');
    if (verdict.kind !== 'accept') return;
    expect(verdict.attributes.toJSON()).toEqual({
      Class: ['netbox-admin', 'group=ops'],
      'Cisco-AVPair': ['shell:roles="netbox-admin netbox-ops"', 'shell:priv-lvl=15'],
      'Filter-Id': ['netbox-readonly'],
      'Service-Type': ['6'],
      '26:14823:1': ['netbox-admin'],
      '99': ['0xfffe'],
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

  it('turns an Access-Challenge into a reject that says why', async () => {
    const verdict = await client().verify({ username: 'carol', password: 'looking-glass', clientAddress: '::1' }, noDeadline());
    expect(verdict).toEqual({ kind: 'reject', message: CHALLENGE_NOT_SUPPORTED });
  });

  it('treats replies signed with the wrong secret as bad replies, never as an answer', async () => {
    server.faults.wrongSecret = true;
    const logger = recorder();
    const error = await trouble(client({ retries: 2, logger }).verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(server.requests).toHaveLength(2);
    expect(logger.lines.some((l) => l.startsWith('warn RADIUS reply ignored') && l.includes('response-authenticator'))).toBe(true);
    expect(logger.lines.join('\n')).not.toContain(SECRET);
    expect(logger.lines.join('\n')).not.toContain(alice.password);
  });

  it('ignores a reply whose Message-Authenticator is wrong even though its Response Authenticator is right', async () => {
    server.faults.badMessageAuthenticator = true;
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('ignores a well-formed reply with a random authenticator', async () => {
    server.faults.garbage = true;
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('accepts unsigned replies unless told to require a Message-Authenticator', async () => {
    server.faults.unsignedReplies = true;
    expect((await client().verify(alice, noDeadline())).kind).toBe('accept');
    expect((await trouble(client({ requireMessageAuthenticator: true }).verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('never sees a reply sent from another port', async () => {
    server.faults.replyFromOtherPort = true;
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('timeout');
    expect(server.requests).toHaveLength(1);
  });

  it('times out on a black hole after retransmitting the identical octets', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const error = await trouble(client({ retries: 3, timeoutMs: 80 }).verify(alice, noDeadline()));
    expect(error.reason).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(230);
    expect(server.requests).toHaveLength(3);
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
    const port = await closedPort();
    const started = performance.now();
    const error = await trouble(client({ server: { host: '127.0.0.1', port }, timeoutMs: 600, retries: 3 }).verify(alice, noDeadline()));
    expect(error.reason).toBe('refused');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('honours the abort signal while waiting', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const error = await trouble(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(60)));
    expect(error.reason).toBe('deadline');
    expect(performance.now() - started).toBeLessThan(300);
    const aborted = new AbortController();
    aborted.abort();
    expect((await trouble(client().verify(alice, aborted.signal))).reason).toBe('deadline');
  });

  it('refuses a password over 128 bytes before sending anything', async () => {
    await expect(client().verify({ ...alice, password: 'p'.repeat(129) }, noDeadline())).rejects.toThrow(InvalidCredentials);
    expect(server.requests).toHaveLength(0);
  });

  it('works over IPv6 loopback', async () => {
    const v6 = new RadiusTestServer({ secret: SECRET, users: USERS });
    const running6 = await v6.start({ host: '::1', port: 0 });
    extraServers.push(running6);
    const c = client({ server: { host: '::1', port: running6.port } });
    expect(c.name).toBe(`[::1]:${running6.port}`);
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(v6.requests[0]?.from.address).toBe('::1');
    const port = await closedPort('::1');
    expect((await trouble(client({ server: { host: '::1', port } }).verify(alice, noDeadline()))).reason).toBe('refused');
  });

  it('leaves no socket open, whatever the outcome', async () => {
    const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    // A closed socket releases its handle on a later turn of the event loop: let earlier tests' sockets go.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = udpHandles();
    await client().verify(alice, noDeadline());
    server.faults.blackHole = true;
    await trouble(client({ timeoutMs: 30 }).verify(alice, noDeadline()));
    await trouble(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(30)));
    await trouble(client({ server: { host: '127.0.0.1', port: await closedPort() } }).verify(alice, noDeadline()));
    await vi.waitFor(() => expect(udpHandles()).toBe(before), { timeout: 200, interval: 5 });
  });
});

describe('createRadiusAuthenticator', () => {
  const config = (ports: number[], secret = SECRET) => ({
    servers: ports.map((port) => ({ host: '127.0.0.1', port })),
    secret,
    timeoutMs: 80,
    retries: 2,
    nasIdentifier: 'netbox-gw-test',
  });

  it('falls over from a black hole to the next server after its retransmissions', async () => {
    const hole = new RadiusTestServer({ secret: SECRET, users: USERS, faults: { blackHole: true } });
    const holeRunning = await hole.start({ host: '127.0.0.1', port: 0 });
    extraServers.push(holeRunning);
    const outcome = await createRadiusAuthenticator(config([holeRunning.port, running.port]), 1_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
    expect(hole.requests).toHaveLength(2);
  });

  it('falls over from a closed port without waiting for its timeouts', async () => {
    const started = performance.now();
    const outcome = await createRadiusAuthenticator(
      { ...config([await closedPort(), running.port]), timeoutMs: 500 },
      2_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome.kind).toBe('accept');
    expect(performance.now() - started).toBeLessThan(300);
  });

  it('stops at the first server that rejects', async () => {
    const second = new RadiusTestServer({ secret: SECRET, users: USERS });
    extraServers.push(await second.start({ host: '127.0.0.1', port: 0 }));
    const outcome = await createRadiusAuthenticator(config([running.port, extraServers[0]!.port]), 1_000, silentLogger).authenticate({
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
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.error.reason)).toEqual(['deadline', 'deadline']);
  });
});
