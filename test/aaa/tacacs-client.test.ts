import { once } from 'node:events';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { TacacsAccounting } from '../../src/aaa/tacacs/accounting.js';
import { createTacacsAccounting, createTacacsAuthenticator } from '../../src/aaa/tacacs/authenticator.js';
import {
  ADDITIONAL_INPUT_REFUSED,
  AUTHORIZATION_REFUSED,
  FOLLOW_REFUSED,
  TacacsClient,
  UNENCRYPTED_REPLY_REFUSED,
  type TacacsClientOptions,
} from '../../src/aaa/tacacs/client.js';
import { AcctFlag, HeaderFlag, type AuthenStart } from '../../src/aaa/tacacs/codec.js';
import type { Endpoint } from '../../src/aaa/tacacs/transport.js';
import { loadTlsMaterial } from '../../src/aaa/tacacs/tls.js';
import { InvalidCredentials, ServerTrouble, type AuthRequest, type ServerVerdict } from '../../src/aaa/types.js';
import type { TacacsConfig, TlsClientConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { recorder } from '../support/log-recorder.js';
import { TacacsTestServer, type RunningTacacsTestServer, type TacacsTestListen, type TacacsTestUser } from '../support/tacacs-server.js';

const KEY = 'client-test-key-0123';
const USERS: Record<string, TacacsTestUser> = {
  alice: {
    password: 'wonderland',
    authorization: { status: 'pass-add', args: ['priv-lvl=15', 'shell:roles="netbox-admin netbox-ops netbox-ro"', 'role*netbox-ro'] },
  },
  bob: { password: 'builder', authorization: { status: 'pass-repl', args: ['service=shell', 'priv-lvl=1', 'role=netbox-viewer'] } },
  carol: { password: 'looking-glass', authorization: { status: 'fail', args: [], serverMsg: 'Not in the NetBox group' } },
  dave: { password: 'dave-pass', authorization: { status: 'error', args: [] } },
  erin: { password: 'erin-pass', authorization: { status: 'pass-add', args: ['priv-lvl=15', 'autocmd=show version'] } },
  frank: { password: 'frank-pass', authorization: { status: 'pass-add', args: ['priv-lvl=15', 'autocmd*show version', 'priv-lvl*99'] } },
  grace: { password: 'grace-pass', chapSecret: 'grace-chap-secret' },
  heidi: { password: 'heidi-pass', authorization: { status: 'follow', args: [] } },
  ivan: { password: 'ivan-pass', authorization: { status: 'pass-add', args: ['priv-lvl=16'] } },
  judy: { password: 'judy-pass', authorization: { status: 'fail', args: ['noseparator'] } },
  kim: { password: 'kim-pass', authorization: { status: 'pass-add', args: ['priv-lvl=15', 'noseparator'] } },
};
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const as = (username: keyof typeof USERS): AuthRequest => ({ username, password: USERS[username]!.password, clientAddress: '2001:db8::7' });

const started: RunningTacacsTestServer[] = [];
let server: TacacsTestServer;
let running: RunningTacacsTestServer;

async function startServer(options: { users?: Record<string, TacacsTestUser>; key?: string; listen?: Partial<TacacsTestListen> } = {}) {
  const s = new TacacsTestServer({ key: options.key ?? KEY, users: options.users ?? USERS });
  const r = await s.start({ host: '127.0.0.1', port: 0, ...options.listen });
  started.push(r);
  return { server: s, running: r };
}

beforeEach(async () => {
  ({ server, running } = await startServer());
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});

const tcp = (port: number, key = KEY, host = '127.0.0.1'): Endpoint => ({
  name: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
  host,
  port,
  transport: { kind: 'tcp', key },
});

function client(overrides: Partial<TacacsClientOptions> = {}): TacacsClient {
  return new TacacsClient({
    endpoint: tcp(running.port),
    timeoutMs: 300,
    authType: 'pap',
    service: 'shell',
    portName: 'netbox-gw',
    authorization: true,
    logger: silentLogger,
    ...overrides,
  });
}

function config(servers: Array<{ port: number; tls?: boolean }>, overrides: Partial<TacacsConfig> = {}): TacacsConfig {
  return {
    servers: servers.map(({ port, tls }) => ({ host: '127.0.0.1', port, tls: tls ?? false })),
    secret: KEY,
    timeoutMs: 300,
    authType: 'pap',
    service: 'shell',
    portName: 'netbox-gw',
    probe: false,
    authorization: true,
    accounting: true,
    tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
    ...overrides,
  };
}

const noDeadline = (): AbortSignal => new AbortController().signal;

async function trouble(promise: Promise<ServerVerdict>): Promise<ServerTrouble> {
  const error: unknown = await promise.then(
    (verdict) => new Error(`expected ServerTrouble, got ${JSON.stringify(verdict)}`),
    (e: unknown) => e,
  );
  if (!(error instanceof ServerTrouble)) throw error;
  return error;
}

/** A TCP port on loopback that nothing listens on: bound, read, released. */
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const probe = createTcpServer().listen(0, host);
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const starts = (s: TacacsTestServer): AuthenStart[] => s.authentications.filter((a) => a.header.seqNo === 1).map((a) => a.body as AuthenStart);

describe('authentication', () => {
  it('PAP: one START (minor version 1) with the user, port, browser address and password; PASS accepts', async () => {
    const verdict = await client({ authorization: false }).verify(alice, noDeadline());
    expect(verdict.kind).toBe('accept');
    if (verdict.kind === 'accept') expect(verdict.attributes.entries()).toEqual([]);
    expect(server.authentications).toHaveLength(1);
    expect(server.authentications[0]?.header).toMatchObject({ version: 0xc1, type: 1, seqNo: 1, flags: 0 });
    expect(server.authentications[0]?.body).toEqual({
      action: 1,
      privLvl: 1,
      authenType: 2,
      authenService: 1,
      user: 'alice',
      port: 'netbox-gw',
      remAddr: '192.0.2.7',
      data: Buffer.from('wonderland'),
    });
  });

  it('uses a fresh random session_id for every session', async () => {
    const c = client();
    await c.verify(alice, noDeadline());
    await c.verify(alice, noDeadline());
    const ids = [...server.authentications, ...server.authorizations].map((r) => r.header.sessionId);
    expect(new Set(ids).size).toBe(4);
  });

  it('PAP: FAIL rejects with the server message, for a wrong password and an unknown user alike', async () => {
    expect(await client().verify({ ...alice, password: 'wrong' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
    expect(await client().verify({ ...alice, username: 'mallory' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
    expect(server.authorizations).toHaveLength(0);
  });

  it('ASCII: START (minor version 0) with the user and no data, the password answering GETPASS', async () => {
    expect((await client({ authType: 'ascii', authorization: false }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(server.authentications.map((a) => [a.header.version, a.header.seqNo])).toEqual([
      [0xc0, 1],
      [0xc0, 3],
    ]);
    expect(server.authentications[0]!.body).toMatchObject({ authenType: 1, user: 'alice', data: Buffer.alloc(0) });
    expect(server.authentications[1]!.body).toEqual({ userMsg: 'wonderland', data: Buffer.alloc(0), flags: 0 });
    expect(await client({ authType: 'ascii' }).verify({ ...alice, password: 'wrong' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
  });

  it('ASCII: answers GETUSER with the user name when the server asks for it', async () => {
    server.faults.promptForUser = true;
    expect((await client({ authType: 'ascii', authorization: false }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(server.authentications.slice(1).map((a) => a.body)).toEqual([
      { userMsg: 'alice', data: Buffer.alloc(0), flags: 0 },
      { userMsg: 'wonderland', data: Buffer.alloc(0), flags: 0 },
    ]);
  });

  it('ASCII: a second password prompt is refused, not answered again (lockout counters)', async () => {
    server.faults.promptAgain = true;
    expect(await client({ authType: 'ascii' }).verify({ ...alice, password: 'wrong' }, noDeadline())).toEqual({ kind: 'reject' });
    expect(server.authentications.filter((a) => 'userMsg' in a.body)).toHaveLength(1);
  });

  it('ASCII: GETDATA (a second factor) is refused with a message; in PAP it is a bad reply', async () => {
    server.faults.authenticationStatus = 'getdata';
    expect(await client({ authType: 'ascii' }).verify(alice, noDeadline())).toEqual({ kind: 'reject', message: ADDITIONAL_INPUT_REFUSED });
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('CHAP: START data is PPP id, challenge and MD5 response, never the password', async () => {
    const grace = { username: 'grace', password: 'grace-chap-secret', clientAddress: '::1' };
    expect((await client({ authType: 'chap', authorization: false }).verify(grace, noDeadline())).kind).toBe('accept');
    expect(await client({ authType: 'chap' }).verify({ ...grace, password: 'grace-pass' }, noDeadline())).toMatchObject({ kind: 'reject' });
    const [start] = starts(server);
    expect(server.authentications[0]!.header.version).toBe(0xc1);
    expect(start).toMatchObject({ authenType: 3, user: 'grace' });
    expect(start!.data).toHaveLength(1 + 16 + 16);
    expect(Buffer.from(start!.data).includes(Buffer.from('grace-chap-secret'))).toBe(false);
  });

  it('ERROR is server trouble; RESTART and FOLLOW are processed as FAIL (RFC 8907 §5.4.3)', async () => {
    server.faults.authenticationStatus = 'error';
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('server-error');
    server.faults.authenticationStatus = 'restart';
    expect(await client().verify(alice, noDeadline())).toEqual({ kind: 'reject', message: 'The TACACS+ server does not accept PAP sign-in for this account' });
    server.faults.authenticationStatus = 'follow';
    expect(await client().verify(alice, noDeadline())).toEqual({ kind: 'reject', message: FOLLOW_REFUSED });
  });

  it('refuses input TACACS+ cannot carry before connecting', async () => {
    await expect(client().verify({ ...alice, username: 'u'.repeat(256) }, noDeadline())).rejects.toThrow(InvalidCredentials);
    await expect(client().verify({ ...alice, username: '' }, noDeadline())).rejects.toThrow(InvalidCredentials);
    await expect(client().verify({ ...alice, password: 'p'.repeat(256) }, noDeadline())).rejects.toThrow(InvalidCredentials);
    expect(server.authentications).toHaveLength(0);
    // ASCII carries the password in a CONTINUE (up to 65535 bytes), CHAP only its hash.
    expect(await client({ authType: 'ascii' }).verify({ ...alice, password: 'p'.repeat(256) }, noDeadline())).toMatchObject({ kind: 'reject' });
  });

  it('works over IPv6 loopback', async () => {
    const v6 = new TacacsTestServer({ key: KEY, users: USERS });
    const r = await v6.start({ host: '::1', port: 0 });
    started.push(r);
    const c = client({ endpoint: tcp(r.port, KEY, '::1') });
    expect(c.name).toBe(`[::1]:${r.port}`);
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(v6.authentications[0]?.peer.address).toBe('::1');
  });
});

describe('authorization', () => {
  it('PASS_ADD: the bag is the reply arguments, mandatory and optional, role lists unpacked', async () => {
    const verdict = await client().verify(alice, noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.detailed()).toEqual([
      ['priv-lvl', [{ value: '15', optional: false }]],
      [
        'shell:roles',
        [
          { value: 'netbox-admin', optional: false },
          { value: 'netbox-ops', optional: false },
          { value: 'netbox-ro', optional: false },
        ],
      ],
      ['role', [{ value: 'netbox-ro', optional: true }]],
    ]);
  });

  it('sends its own session with service=shell and cmd=, the authentication fields and the browser address', async () => {
    await client().verify(alice, noDeadline());
    const [auth] = server.authentications;
    const [request] = server.authorizations;
    expect(request?.header).toMatchObject({ version: 0xc0, type: 2, seqNo: 1, flags: 0 });
    expect(request?.header.sessionId).not.toBe(auth?.header.sessionId);
    expect(request?.peer.port).not.toBe(auth?.peer.port);
    expect(request?.body).toEqual({
      authenMethod: 0x06,
      privLvl: 1,
      authenType: 2,
      authenService: 1,
      user: 'alice',
      port: 'netbox-gw',
      remAddr: '192.0.2.7',
      args: ['service=shell', 'cmd='],
    });
  });

  it('asks for another service without cmd, and with the authen_type used', async () => {
    await client({ service: 'netbox', authType: 'ascii' }).verify(alice, noDeadline());
    expect(server.authorizations[0]?.body).toMatchObject({ authenType: 1, args: ['service=netbox'] });
  });

  it('PASS_REPL: the bag is the replacing arguments; priv-lvl=1 arrives as such', async () => {
    const verdict = await client().verify(as('bob'), noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.toJSON()).toEqual({ service: ['shell'], 'priv-lvl': ['1'], role: ['netbox-viewer'] });
  });

  it('FAIL: the login fails with a message saying authorization was refused', async () => {
    expect(await client().verify(as('carol'), noDeadline())).toEqual({ kind: 'reject', stage: 'authorization', message: `${AUTHORIZATION_REFUSED}: Not in the NetBox group` });
  });

  it('ERROR is server trouble, FOLLOW a refusal', async () => {
    expect((await trouble(client().verify(as('dave'), noDeadline()))).reason).toBe('server-error');
    expect(await client().verify(as('heidi'), noDeadline())).toEqual({ kind: 'reject', message: FOLLOW_REFUSED });
  });

  it('an argument that is not name=value never turns a FAIL or a PASS into server trouble', async () => {
    // Our key decoded the reply's lengths: it is this server's answer, so the next server must not be asked.
    expect(await client().verify(as('judy'), noDeadline())).toMatchObject({ kind: 'reject', stage: 'authorization' });
    expect(await client().verify(as('kim'), noDeadline())).toMatchObject({
      kind: 'reject',
      stage: 'authorization',
      message: expect.stringContaining('noseparator'),
    });
  });

  it('a mandatory argument the gateway cannot apply fails the authorization (RFC 8907 §6.1)', async () => {
    const logger = recorder();
    expect(await client({ logger }).verify(as('erin'), noDeadline())).toEqual({
      kind: 'reject',
      stage: 'authorization',
      message: `${AUTHORIZATION_REFUSED}: it requires "autocmd=show version", which this gateway cannot apply`,
    });
    expect(logger.lines.some((l) => l.startsWith('warn TACACS+ authorization requires an argument'))).toBe(true);
    // A mandatory priv-lvl outside 0-15 cannot be accommodated (§8.1) either.
    expect(await client().verify(as('ivan'), noDeadline())).toMatchObject({ kind: 'reject', message: expect.stringContaining('priv-lvl=16') });
  });

  it('keeps unknown optional arguments and disregards an optional priv-lvl it cannot accommodate', async () => {
    const verdict = await client().verify(as('frank'), noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.toJSON()).toEqual({ 'priv-lvl': ['15'], autocmd: ['show version'] });
  });

  it('a deployment can declare more mandatory arguments it acts on', async () => {
    const verdict = await client({ handledMandatoryArguments: ['priv-lvl', 'autocmd'] }).verify(as('erin'), noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.toJSON()).toEqual({ 'priv-lvl': ['15'], autocmd: ['show version'] });
  });

  it('is not asked for when authorization is off', async () => {
    expect((await client({ authorization: false }).verify(as('carol'), noDeadline())).kind).toBe('accept');
    expect(server.authorizations).toHaveLength(0);
  });
});

describe('server faults', () => {
  it('a reply obfuscated with another key is a bad reply, never an answer', async () => {
    server.faults.wrongKey = true;
    const logger = recorder();
    const error = await trouble(client({ logger }).verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(error.message).toContain('wrong key?');
    expect(logger.lines.join('\n')).not.toContain(KEY);
    expect(logger.lines.join('\n')).not.toContain(alice.password);
  });

  it('our own wrong key: the server answers the empty error packet of RFC 8907 §3.6, a bad reply', async () => {
    const error = await trouble(client({ endpoint: tcp(running.port, 'not-the-key-at-all') }).verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(server.refused).toHaveLength(1);
  });

  it('a reply with another seq_no, session_id, type or version is a bad reply, whatever its body says', async () => {
    const problems = { seq_no: 'reply seq_no 4, expected 2', session_id: 'another session_id', type: 'reply of type 2', version: 'reply version 0xc0' } as const;
    for (const [field, problem] of Object.entries(problems)) {
      server.faults.mismatchedReply = field as keyof typeof problems;
      const error = await trouble(client().verify(alice, noDeadline()));
      expect(error.reason).toBe('bad-reply');
      expect(error.message).toContain(problem);
    }
  });

  it('garbage with the right header is a bad reply', async () => {
    server.faults.garbage = true;
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('a server closing the connection after reading the request is network trouble', async () => {
    server.faults.closeMidExchange = true;
    expect((await trouble(client().verify(alice, noDeadline()))).reason).toBe('network');
  });

  it('a reply with the unencrypted flag while a key is configured is a FAIL (RFC 8907 §10.5.2)', async () => {
    server.faults.unencryptedReply = true;
    const logger = recorder();
    expect(await client({ logger }).verify(alice, noDeadline())).toEqual({ kind: 'reject', message: UNENCRYPTED_REPLY_REFUSED });
    expect(logger.lines.some((l) => l.startsWith('warn TACACS+ reply without obfuscation'))).toBe(true);
  });

  it('times out on a black hole after the step timeout, and honours the abort signal at once', async () => {
    server.faults.blackHole = true;
    let t = performance.now();
    expect((await trouble(client({ timeoutMs: 80 }).verify(alice, noDeadline()))).reason).toBe('timeout');
    expect(performance.now() - t).toBeGreaterThanOrEqual(75);
    expect(server.authentications).toHaveLength(1);
    t = performance.now();
    expect((await trouble(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(60)))).reason).toBe('deadline');
    expect(performance.now() - t).toBeLessThan(400);
    const aborted = new AbortController();
    aborted.abort();
    expect((await trouble(client().verify(alice, aborted.signal))).reason).toBe('deadline');
  });

  it('reports a closed port as refused at once', async () => {
    const t = performance.now();
    expect((await trouble(client({ endpoint: tcp(await closedPort()), timeoutMs: 2_000 }).verify(alice, noDeadline()))).reason).toBe('refused');
    expect(performance.now() - t).toBeLessThan(300);
  });
});

describe('createTacacsAuthenticator (failover)', () => {
  it('moves on from a closed port without waiting for a timeout', async () => {
    const t = performance.now();
    const outcome = await createTacacsAuthenticator(config([{ port: await closedPort() }, { port: running.port }], { timeoutMs: 2_000 }), 3_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
    expect(performance.now() - t).toBeLessThan(500);
  });

  it('moves on from a server with the wrong key (garbled replies) to the next', async () => {
    const { server: first, running: firstRunning } = await startServer({ key: 'the-first-servers-other-key' });
    const outcome = await createTacacsAuthenticator(config([{ port: firstRunning.port }, { port: running.port }]), 2_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
    expect(first.refused).toHaveLength(1);
  });

  it('moves on from a server that closes the connection mid-exchange, and from one answering ERROR', async () => {
    const { server: first, running: firstRunning } = await startServer();
    first.faults.closeMidExchange = true;
    const { server: second, running: secondRunning } = await startServer();
    second.faults.authenticationStatus = 'error';
    const outcome = await createTacacsAuthenticator(config([firstRunning, secondRunning, running].map((r) => ({ port: r.port }))), 2_000, silentLogger).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
    expect([first.authentications.length, second.authentications.length, server.authentications.length]).toEqual([1, 1, 1]);
  });

  it('stops at a reject, and at a reply without obfuscation: the next server is not asked', async () => {
    const { server: second, running: secondRunning } = await startServer();
    const auth = createTacacsAuthenticator(config([{ port: running.port }, { port: secondRunning.port }]), 2_000, silentLogger);
    expect(await auth.authenticate(as('carol'))).toEqual({ kind: 'reject', stage: 'authorization', server: `127.0.0.1:${running.port}`, message: `${AUTHORIZATION_REFUSED}: Not in the NetBox group` });
    server.faults.unencryptedReply = true;
    expect(await auth.authenticate(alice)).toEqual({ kind: 'reject', server: `127.0.0.1:${running.port}`, message: UNENCRYPTED_REPLY_REFUSED });
    expect(second.authentications).toHaveLength(0);
  });

  it('keeps the login deadline across black holes', async () => {
    server.faults.blackHole = true;
    const t = performance.now();
    const outcome = await createTacacsAuthenticator(config([{ port: running.port }, { port: running.port }], { timeoutMs: 5_000 }), 150, silentLogger).authenticate(alice);
    expect(performance.now() - t).toBeLessThan(500);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.error.reason)).toEqual(['deadline', 'deadline']);
  });
});

describe('accounting', () => {
  const session = { id: 'gw-7f3a9c', username: 'alice', clientAddress: '192.0.2.7', startedAt: Date.UTC(2030, 0, 1, 12, 0, 0, 250) };
  const end = { at: Date.UTC(2030, 0, 1, 12, 42, 7, 900), cause: 'logout' as const };

  it('sends START and STOP records with the same task_id and consistent times', async () => {
    const accounting = createTacacsAccounting(config([{ port: running.port }]), silentLogger)!;
    await accounting.start(session);
    await accounting.stop(session, end);
    expect(server.accounting.map((r) => r.body.flags)).toEqual([AcctFlag.Start, AcctFlag.Stop]);
    const [start, stop] = server.accounting;
    const startTime = Math.floor(session.startedAt / 1000);
    const stopTime = Math.floor(end.at / 1000);
    expect(start?.body.args).toEqual([`task_id=gw-7f3a9c`, `start_time=${startTime}`, 'service=shell']);
    expect(stop?.args).toEqual({
      task_id: 'gw-7f3a9c',
      start_time: String(startTime),
      stop_time: String(stopTime),
      elapsed_time: String(stopTime - startTime),
      service: 'shell',
    });
    expect(stopTime - startTime).toBe(42 * 60 + 7);
    expect(start?.header).toMatchObject({ version: 0xc0, type: 3, seqNo: 1, flags: 0 });
    expect(start?.body).toMatchObject({ authenMethod: 6, privLvl: 1, authenType: 2, authenService: 1, user: 'alice', port: 'netbox-gw', remAddr: '192.0.2.7' });
  });

  it('tries the servers in order until one answers SUCCESS', async () => {
    const { server: refusing, running: refusingRunning } = await startServer();
    refusing.faults.accountingError = true;
    const logger = recorder();
    const accounting = createTacacsAccounting(config([{ port: await closedPort() }, { port: refusingRunning.port }, { port: running.port }]), logger)!;
    await accounting.start(session);
    expect(refusing.accounting).toHaveLength(1);
    expect(server.accounting).toHaveLength(1);
    expect(logger.lines.filter((l) => l.startsWith('warn'))).toHaveLength(2);
    expect(logger.lines.at(-1)).toMatch(/^info TACACS\+ accounting record sent/);
  });

  it('never throws: logs when no server records it', async () => {
    server.faults.blackHole = true;
    const logger = recorder();
    const accounting = createTacacsAccounting(config([{ port: running.port }, { port: await closedPort() }], { timeoutMs: 50 }), logger)!;
    await expect(accounting.stop(session, end)).resolves.toBeUndefined();
    expect(logger.lines.at(-1)).toMatch(/^error TACACS\+ accounting record not recorded by any server/);
    const unsendable = new TacacsAccounting({ endpoints: [tcp(running.port)], timeoutMs: 50, authType: 'pap', service: 'shell', portName: 'p', logger });
    await expect(unsendable.start({ ...session, username: 'u'.repeat(300) })).resolves.toBeUndefined();
    expect(logger.lines.at(-1)).toMatch(/^error TACACS\+ accounting record could not be sent/);
  });

  it('is absent when accounting is off', () => {
    expect(createTacacsAccounting(config([{ port: running.port }], { accounting: false }), silentLogger)).toBeUndefined();
  });
});

describe('TACACS+ over TLS (RFC 9887)', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterAll(() => certs.remove());

  const tlsConfig = (overrides: Partial<TlsClientConfig> = {}): TlsClientConfig => ({
    caFile: certs.ca.certFile,
    serverName: undefined,
    certFile: certs.client.certFile,
    keyFile: certs.client.keyFile,
    ...overrides,
  });
  const tlsListen = (pair = certs.server, requestCert = true): Partial<TacacsTestListen> => ({
    tls: { key: pair.key, cert: pair.cert, ca: certs.ca.cert, requestCert },
  });
  const tlsEndpoint = (port: number, overrides: Partial<TlsClientConfig> = {}): Endpoint => ({
    name: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    transport: { kind: 'tls', material: loadTlsMaterial(tlsConfig(overrides)) },
  });

  it('signs in with a good server certificate and a client certificate; no obfuscation, flag set both ways', async () => {
    const { server: tls, running: r } = await startServer({ listen: tlsListen() });
    const verdict = await client({ endpoint: tlsEndpoint(r.port), authType: 'ascii' }).verify(alice, noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.first('priv-lvl')).toBe('15');
    const received = [...tls.authentications, ...tls.authorizations];
    expect(received).toHaveLength(3);
    for (const packet of received) {
      expect(packet.header.flags & HeaderFlag.Unencrypted).toBe(HeaderFlag.Unencrypted);
      expect(packet.peer.certificate).toBe('netbox-gateway');
    }
  });

  it('checks the certificate against a configured server name', async () => {
    const { running: r } = await startServer({ listen: tlsListen() });
    expect((await client({ endpoint: tlsEndpoint(r.port, { serverName: 'localhost' }) }).verify(alice, noDeadline())).kind).toBe('accept');
    const error = await trouble(client({ endpoint: tlsEndpoint(r.port, { serverName: 'tacacs.example.net' }) }).verify(alice, noDeadline()));
    expect(error.reason).toBe('network');
    expect(error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('refuses a certificate from another CA, says so in the log, and never falls back to plain TCP', async () => {
    const { server: rogue, running: r } = await startServer({ listen: tlsListen(certs.rogueServer, false) });
    const logger = recorder();
    const error = await trouble(client({ endpoint: tlsEndpoint(r.port), logger }).verify(alice, noDeadline()));
    expect(error.reason).toBe('network');
    expect(error.message).toContain('TLS certificate rejected');
    expect(logger.lines.some((l) => l.startsWith('warn TACACS+ server certificate rejected'))).toBe(true);
    expect(rogue.authentications).toHaveLength(0);
    const outcome = await createTacacsAuthenticator(
      config([{ port: r.port, tls: true }, { port: running.port }], { tls: tlsConfig() }),
      2_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${running.port}` });
  });

  it('is refused by a server that requires a client certificate when none is configured', async () => {
    const { server: tls, running: r } = await startServer({ listen: tlsListen() });
    const error = await trouble(client({ endpoint: tlsEndpoint(r.port, { certFile: undefined, keyFile: undefined }) }).verify(alice, noDeadline()));
    expect(error.reason).toBe('network');
    expect(tls.authentications).toHaveLength(0);
  });

  it('treats a TLS reply without the unencrypted flag as a bad reply', async () => {
    const { server: tls, running: r } = await startServer({ listen: tlsListen() });
    tls.faults.obfuscatedOverTls = true;
    expect((await trouble(client({ endpoint: tlsEndpoint(r.port) }).verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('does not speak TLS 1.2', async () => {
    const legacy = createTlsServer({ key: certs.server.key, cert: certs.server.cert, maxVersion: 'TLSv1.2' }, (socket) => socket.destroy());
    legacy.on('tlsClientError', () => {});
    legacy.listen(0, '127.0.0.1');
    await once(legacy, 'listening');
    try {
      const port = (legacy.address() as { port: number }).port;
      expect((await trouble(client({ endpoint: tlsEndpoint(port) }).verify(alice, noDeadline()))).reason).toBe('network');
    } finally {
      await new Promise<void>((resolve) => legacy.close(() => resolve()));
    }
  });

  it('sends accounting over TLS', async () => {
    const { server: tls, running: r } = await startServer({ listen: tlsListen() });
    await createTacacsAccounting(config([{ port: r.port, tls: true }], { tls: tlsConfig() }), silentLogger)!.start({
      id: 't1',
      username: 'alice',
      clientAddress: '::1',
      startedAt: Date.now(),
    });
    expect(tls.accounting.map((a) => [a.args['task_id'], a.header.flags])).toEqual([['t1', HeaderFlag.Unencrypted]]);
  });

  it('refuses a client certificate without its key at start-up', () => {
    expect(() => loadTlsMaterial(tlsConfig({ keyFile: undefined }))).toThrow(RangeError);
  });
});

describe('resources', () => {
  it('leaves no socket open, whatever the outcome', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
    // A destroyed socket releases its handle on a later turn of the event loop: let earlier tests' sockets go.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const before = sockets();
    await client().verify(alice, noDeadline());
    await client({ authType: 'ascii' }).verify({ ...alice, password: 'wrong' }, noDeadline());
    server.faults.garbage = true;
    await trouble(client().verify(alice, noDeadline()));
    server.faults.garbage = false;
    server.faults.blackHole = true;
    await trouble(client({ timeoutMs: 30 }).verify(alice, noDeadline()));
    await trouble(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(30)));
    await trouble(client({ endpoint: tcp(await closedPort()) }).verify(alice, noDeadline()));
    await vi.waitFor(() => expect(sockets()).toBe(before), { timeout: 500, interval: 10 });
  });
});
