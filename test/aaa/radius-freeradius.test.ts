/**
 * Interoperability with a real FreeRADIUS 3 (Debian's 3.2.1): PAP, the BlastRADIUS policy against a server that
 * does not sign its replies, a one-time code challenge, Status-Server, RadSec with good and bad certificates, and
 * accounting into its detail file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createRadiusAccounting, createRadiusAuthenticator } from '../../src/aaa/radius/authenticator.js';
import { RadiusClient, type RadiusClientOptions } from '../../src/aaa/radius/client.js';
import {
  RadiusCode,
  decodePacket,
  describeAttributes,
  encodeAccessRequest,
  verifyResponse,
  type RadiusPacket,
} from '../../src/aaa/radius/codec.js';
import { loadTlsMaterial } from '../../src/aaa/tls.js';
import type { AuthRequest, ServerVerdict } from '../../src/aaa/types.js';
import type { RadiusConfig, RadiusServer, RequireMessageAuthenticator, TlsClientConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { FREERADIUS_OTP_PROMPT, startFreeRadius, type DetailRecord, type RunningFreeRadius } from '../support/freeradius.js';
import { recorder } from '../support/log-recorder.js';
import { troubleOf, unusedPort } from '../support/radius-server.js';

const SECRET = 'freeradius-interop-secret';
const USERS = {
  alice: {
    password: 'wonderland',
    attributes: [
      ['Class', 'netbox-admin'],
      ['Class', 'group=ops'],
      ['Cisco-AVPair', 'shell:roles="netbox-admin netbox-ops"'],
      ['Cisco-AVPair', 'shell:priv-lvl=15'],
      ['Filter-Id', 'netbox-readonly'],
    ],
  },
  carol: { password: 'looking-glass', otp: '123456', attributes: [['Class', 'otp-user']] },
} as const;
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const carol: AuthRequest = { username: 'carol', password: 'looking-glass', clientAddress: '192.0.2.9' };
const within = (ms = 3_000): AbortSignal => AbortSignal.timeout(ms);

let certs: TestCertificates;
let plain: RunningFreeRadius;
let strict: RunningFreeRadius;
/** A RadSec listener whose server certificate is signed by a CA the gateway does not trust. */
let rogue: RunningFreeRadius;

beforeAll(async () => {
  certs = makeTestCertificates();
  const tls = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile };
  [plain, strict, rogue] = await Promise.all([
    startFreeRadius({ secret: SECRET, users: USERS, tls }),
    startFreeRadius({ secret: SECRET, users: USERS, requireMessageAuthenticator: true }),
    startFreeRadius({ secret: SECRET, users: USERS, tls: { ...tls, certFile: certs.rogueServer.certFile, keyFile: certs.rogueServer.keyFile } }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), strict?.stop(), rogue?.stop()]);
  certs?.remove();
});

const gatewayTls = (overrides: Partial<TlsClientConfig> = {}): TlsClientConfig => ({
  caFile: certs.ca.certFile,
  serverName: undefined,
  certFile: certs.client.certFile,
  keyFile: certs.client.keyFile,
  ...overrides,
});

function udp(port: number, requireMessageAuthenticator: RequireMessageAuthenticator = 'auto'): RadiusServer {
  return { host: '127.0.0.1', port, transport: 'udp', requireMessageAuthenticator };
}

function radsec(port: number | undefined): RadiusServer {
  if (port === undefined) throw new Error('this FreeRADIUS has no RadSec listener');
  return { host: '127.0.0.1', port, transport: 'radsec', requireMessageAuthenticator: 'auto' };
}

function client(server: RadiusServer, overrides: Partial<RadiusClientOptions> = {}): RadiusClient {
  return new RadiusClient({
    server,
    secret: SECRET,
    tls: server.transport === 'radsec' ? loadTlsMaterial(gatewayTls(), 'RadSec') : undefined,
    timeoutMs: 400,
    retries: 1,
    challengeTimeoutMs: 400,
    nasIdentifier: 'netbox-gw-interop',
    logger: silentLogger,
    ...overrides,
  });
}

function config(servers: RadiusServer[], overrides: Partial<RadiusConfig> = {}): RadiusConfig {
  return {
    servers,
    secret: SECRET,
    timeoutMs: 400,
    retries: 1,
    nasIdentifier: 'netbox-gw-interop',
    nasIpAddress: undefined,
    sourceAddress: undefined,
    challengeTimeoutMs: 400,
    accounting: { enabled: false, servers: [] },
    tls: gatewayTls(),
    probe: false,
    ...overrides,
  };
}

/** One datagram to FreeRADIUS and its reply (or undefined after `waitMs`), bypassing our client's checks. */
async function exchange(port: number, packet: Buffer, waitMs = 400): Promise<RadiusPacket | undefined> {
  const socket = createSocket('udp4');
  try {
    socket.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.send(packet);
    const reply = await Promise.race([
      once(socket, 'message').then(([datagram]: unknown[]) => decodePacket(datagram as Buffer)),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs)),
    ]);
    return reply;
  } finally {
    socket.close();
  }
}

function accessRequest(password: string): { packet: Buffer; authenticator: Buffer } {
  const authenticator = randomBytes(16);
  const packet = encodeAccessRequest({ identifier: 1, authenticator, secret: SECRET, username: 'alice', password, attributes: [] });
  return { packet, authenticator };
}

describe('against FreeRADIUS 3', () => {
  it('accepts with every Class and Cisco-AVPair in the attribute bag', async () => {
    const verdict = await client(udp(plain.port)).verify(alice, within());
    expect(verdict.kind).toBe('accept');
    if (verdict.kind !== 'accept') return;
    expect(verdict.attributes.all('Class')).toEqual(['netbox-admin', 'group=ops']);
    expect(verdict.attributes.all('Cisco-AVPair')).toEqual(['shell:roles="netbox-admin netbox-ops"', 'shell:priv-lvl=15']);
    expect(verdict.attributes.all('Filter-Id')).toEqual(['netbox-readonly']);
    // The log line may reach our pipe just after the reply reaches our socket.
    await vi.waitFor(() => expect(plain.output()).toContain('Login OK: [alice]'), { timeout: 1_000 });
  });

  it('rejects a wrong password with a Reply-Message and none of the user’s attributes', async () => {
    expect(await client(udp(plain.port)).verify({ ...alice, password: 'not-it' }, within())).toEqual({
      kind: 'reject',
      message: 'Authentication failed',
    });
    const { packet, authenticator } = accessRequest('not-it');
    const reply = await exchange(plain.port, packet);
    expect(reply?.code).toBe(RadiusCode.AccessReject);
    expect(reply && verifyResponse(reply, authenticator, SECRET).ok).toBe(true);
    expect(reply && describeAttributes(reply.attributes)).toEqual([['Reply-Message', 'Authentication failed']]);
  });

  it('rejects an unknown user', async () => {
    expect((await client(udp(plain.port)).verify({ ...alice, username: 'mallory' }, within())).kind).toBe('reject');
  });

  it('treats a wrong shared secret as server trouble, never as an answer', async () => {
    const error = await troubleOf(client(udp(plain.port), { secret: 'not-the-secret' }).verify(alice, within()));
    // FreeRADIUS drops a request whose Message-Authenticator does not verify, so the client hears nothing.
    expect(error.reason).toBe('timeout');
    const outcome = await createRadiusAuthenticator(config([udp(plain.port)], { secret: 'not-the-secret', timeoutMs: 300 }), 1_000, silentLogger).authenticate(alice);
    expect(outcome.kind).toBe('unavailable');
  });

  it('reaches the second server when the first port is closed', async () => {
    const started = performance.now();
    const outcome = await createRadiusAuthenticator(
      config([udp(await unusedPort('127.0.0.1', 'udp')), udp(plain.port)], { retries: 2 }),
      2_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${plain.port}` });
    // The closed port is refused at once, not after its 2 × 400 ms of timeouts.
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('is accepted by a client entry with require_message_authenticator = yes', async () => {
    expect((await client(udp(strict.port)).verify(alice, within())).kind).toBe('accept');
    // Control: the same request with its Message-Authenticator cut out gets no answer at all, so the
    // setting is really in force and the accept above proves our Message-Authenticator correct.
    const { packet } = accessRequest('wonderland');
    const withoutMa = Buffer.concat([packet.subarray(0, 20), packet.subarray(38)]);
    withoutMa.writeUInt16BE(withoutMa.length, 2);
    expect(decodePacket(withoutMa).attributes.map((a) => a.type)).toEqual([1, 2]);
    expect(await exchange(strict.port, withoutMa, 300)).toBeUndefined();
    expect(await exchange(plain.port, withoutMa)).toMatchObject({ code: RadiusCode.AccessAccept });
  });
});

describe('BlastRADIUS policy against FreeRADIUS 3.2.1, which does not sign its replies', () => {
  it('really sends unsigned replies (the premise of the tests below)', async () => {
    const { packet } = accessRequest('wonderland');
    const reply = await exchange(plain.port, packet);
    expect(reply?.code).toBe(RadiusCode.AccessAccept);
    expect(reply?.attributes.some((a) => a.type === 80)).toBe(false);
  });

  it('yes: fails closed with a log line that names the setting', async () => {
    const logger = recorder();
    const error = await troubleOf(client(udp(plain.port, 'yes'), { logger }).verify(alice, within()));
    expect(error.reason).toBe('bad-reply');
    expect(logger.lines.some((l) => l.startsWith('warn RADIUS reply ignored') && l.includes('discarded an unsigned reply') && l.includes('RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR=true'))).toBe(true);
    const outcome = await createRadiusAuthenticator(config([udp(plain.port, 'yes')]), 2_000, silentLogger).authenticate(alice);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.error.reason)).toEqual(['bad-reply']);
  });

  it.each(['auto', 'no'] as const)('%s: works, warning once about the unsigned replies', async (mode) => {
    const logger = recorder();
    const c = client(udp(plain.port, mode), { logger });
    expect((await c.verify(alice, within())).kind).toBe('accept');
    expect((await c.verify({ ...alice, password: 'wrong' }, within())).kind).toBe('reject');
    expect((await c.verify(alice, within())).kind).toBe('accept');
    expect(logger.lines.filter((l) => l.startsWith('warn RADIUS server does not sign its replies'))).toHaveLength(1);
    const outcome = await createRadiusAuthenticator(config([udp(plain.port, mode)]), 2_000, silentLogger).authenticate(alice);
    expect(outcome.kind).toBe('accept');
  });
});

describe('Access-Challenge with a one-time code policy in FreeRADIUS', () => {
  async function challenged(c: RadiusClient): Promise<Extract<ServerVerdict, { kind: 'challenge' }>> {
    const verdict = await c.verify(carol, within());
    if (verdict.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(verdict)}`);
    return verdict;
  }
  const answer = (c: RadiusClient, state: string, code: string) =>
    c.verify({ ...carol, password: code, challenge: { server: c.name, prompt: FREERADIUS_OTP_PROMPT, state } }, within());

  it.each([
    ['UDP', () => udp(plain.port)],
    ['RadSec', () => radsec(plain.tlsPort)],
  ] as const)('round trip over %s: prompt, State back, accept with the user’s attributes', async (_, server) => {
    const c = client(server());
    const challenge = await challenged(c);
    expect(challenge.prompt).toBe(FREERADIUS_OTP_PROMPT);
    expect(Buffer.from(challenge.state, 'base64').length).toBeGreaterThan(0);
    const verdict = await answer(c, challenge.state, '123456');
    expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual(['otp-user']);
  });

  it('rejects a wrong code, a replayed State and an invented one', async () => {
    const c = client(udp(plain.port));
    expect((await answer(c, (await challenged(c)).state, '654321')).kind).toBe('reject');
    const { state } = await challenged(c);
    expect((await answer(c, state, '123456')).kind).toBe('accept');
    expect((await answer(c, state, '123456')).kind).toBe('reject');
    expect((await answer(c, randomBytes(16).toString('base64'), '123456')).kind).toBe('reject');
  });

  it('rejects a wrong password without a challenge, and leaks no attributes into the challenge', async () => {
    const c = client(udp(plain.port));
    expect((await c.verify({ ...carol, password: 'wrong' }, within())).kind).toBe('reject');
    const { packet, authenticator } = (() => {
      const auth = randomBytes(16);
      return { packet: encodeAccessRequest({ identifier: 9, authenticator: auth, secret: SECRET, username: 'carol', password: 'looking-glass', attributes: [] }), authenticator: auth };
    })();
    const reply = await exchange(plain.port, packet);
    expect(reply?.code).toBe(RadiusCode.AccessChallenge);
    expect(reply && verifyResponse(reply, authenticator, SECRET).ok).toBe(true);
    expect(reply && describeAttributes(reply.attributes).map(([name]) => name).sort()).toEqual(['Reply-Message', 'State']);
  });
});

describe('Status-Server', () => {
  it('is answered over UDP, also by a client entry that requires Message-Authenticator', async () => {
    await client(udp(plain.port)).probe(within());
    await client(udp(strict.port, 'no')).probe(within());
  });

  it('is answered over RadSec', async () => {
    await client(radsec(plain.tlsPort)).probe(within());
  });

  it('gets no answer with a wrong secret, and refused from a closed port', async () => {
    expect((await troubleOf(client(udp(plain.port), { secret: 'not-the-secret' }).probe(within()))).reason).toBe('timeout');
    expect((await troubleOf(client(udp(await unusedPort('127.0.0.1', 'udp'))).probe(within()))).reason).toBe('refused');
  });

  it('does not teach the auto policy anything', async () => {
    const c = client(udp(plain.port, 'auto'));
    await c.probe(within());
    expect((await c.verify(alice, within())).kind).toBe('accept');
  });
});

describe('RadSec (RFC 6614) against the FreeRADIUS TLS listener', () => {
  it('logs in with good certificates, over TLS 1.2 or later', async () => {
    const logger = recorder();
    const verdict = await client(radsec(plain.tlsPort), { logger }).verify(alice, within());
    expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual(['netbox-admin', 'group=ops']);
    expect(logger.lines.some((l) => /"protocol":"TLSv1\.[23]"/.test(l))).toBe(true);
    // TLS protects the replies, so FreeRADIUS's unsigned ones raise no BlastRADIUS warning over RadSec.
    expect(logger.lines.some((l) => l.includes('does not sign its replies'))).toBe(false);
    expect((await client(radsec(plain.tlsPort)).verify({ ...alice, password: 'wrong' }, within())).kind).toBe('reject');
  });

  it('logs in through createRadiusAuthenticator with the certificate files from the config', async () => {
    const outcome = await createRadiusAuthenticator(config([radsec(plain.tlsPort)]), 3_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${plain.tlsPort}` });
  });

  it('never accepts from a server whose certificate a rogue CA signed', async () => {
    const logger = recorder();
    const error = await troubleOf(client(radsec(rogue.tlsPort), { logger }).verify(alice, within()));
    expect(error.reason).toBe('network');
    expect(error.message).toContain('TLS certificate rejected');
    expect(logger.lines.some((l) => l.startsWith('warn RadSec server certificate rejected'))).toBe(true);
    const outcome = await createRadiusAuthenticator(config([radsec(rogue.tlsPort)]), 3_000, silentLogger).authenticate(alice);
    expect(outcome.kind).toBe('unavailable');
  });

  it('never accepts from a server whose certificate names another host', async () => {
    const tls = loadTlsMaterial(gatewayTls({ serverName: 'radius.example.net' }), 'RadSec');
    const error = await troubleOf(client(radsec(plain.tlsPort), { tls }).verify(alice, within()));
    expect(error.reason).toBe('network');
    expect(error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('is refused by FreeRADIUS without a client certificate', async () => {
    const tls = loadTlsMaterial(gatewayTls({ certFile: undefined, keyFile: undefined }), 'RadSec');
    const started = performance.now();
    const error = await troubleOf(client(radsec(plain.tlsPort), { tls, timeoutMs: 2_000 }).verify(alice, within()));
    // FreeRADIUS ends the TLS session with an alert and closes: no need to wait for the timeout.
    expect(error.reason).toBe('network');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('reports a closed port as refused at once', async () => {
    const port = await unusedPort('127.0.0.1', 'tcp');
    const started = performance.now();
    expect((await troubleOf(client(radsec(port), { timeoutMs: 2_000 }).verify(alice, within()))).reason).toBe('refused');
    expect(performance.now() - started).toBeLessThan(300);
  });
});

describe('accounting into the FreeRADIUS detail file', () => {
  async function recordsOf(server: RunningFreeRadius, sessionId: string): Promise<DetailRecord[]> {
    // FreeRADIUS writes the record before it answers, so it is there once the Accounting-Response is.
    return (await server.accountingRecords()).filter((record) => record['Acct-Session-Id'] === sessionId);
  }

  it.each([
    ['UDP', () => ({ ...udp(plain.acctPort), requireMessageAuthenticator: 'no' as const })],
    ['RadSec', () => radsec(plain.tlsPort)],
  ] as const)('records Start and Stop sent over %s', async (_, server) => {
    const logger = recorder();
    const accounting = createRadiusAccounting(
      config([udp(plain.port)], { accounting: { enabled: true, servers: [server()] }, nasIpAddress: '198.51.100.20' }),
      logger,
    );
    if (!accounting) throw new Error('accounting is enabled but createRadiusAccounting returned none');
    const session = { id: randomUUID(), username: 'alice', clientAddress: '192.0.2.7', startedAt: Date.now() - 65_000 };
    await accounting.start(session);
    await accounting.stop(session, { at: session.startedAt + 65_000, cause: 'idle-timeout' });
    const [start, stop, ...more] = await recordsOf(plain, session.id);
    expect(more).toEqual([]);
    const common = { 'User-Name': 'alice', 'Calling-Station-Id': '192.0.2.7', 'NAS-Identifier': 'netbox-gw-interop', 'NAS-IP-Address': '198.51.100.20' };
    expect(start).toMatchObject({ 'Acct-Status-Type': 'Start', ...common });
    expect(start).not.toHaveProperty('Acct-Session-Time');
    expect(stop).toMatchObject({ 'Acct-Status-Type': 'Stop', ...common, 'Acct-Session-Time': '65', 'Acct-Terminate-Cause': 'Idle-Timeout' });
    expect(logger.lines.filter((l) => l.startsWith('info RADIUS accounting record sent'))).toHaveLength(2);
  });

  it('moves on from a server that drops the records (wrong secret) and never throws', async () => {
    const logger = recorder();
    const accounting = createRadiusAccounting(
      config([udp(plain.port)], { secret: 'not-the-secret', timeoutMs: 200, accounting: { enabled: true, servers: [udp(plain.acctPort, 'no')] } }),
      logger,
    );
    const session = { id: randomUUID(), username: 'alice', clientAddress: '192.0.2.7', startedAt: Date.now() };
    await expect(accounting?.start(session)).resolves.toBeUndefined();
    expect(await recordsOf(plain, session.id)).toEqual([]);
    expect(logger.lines.some((l) => l.startsWith('error RADIUS accounting record not recorded by any server'))).toBe(true);
  });
});
