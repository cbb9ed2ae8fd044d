/**
 * Dead-server handling on the wire, against the project's RADIUS and TACACS+ test servers on loopback: a closed
 * port is known dead at once, a black hole after its timeout, and a TACACS+ server that comes back is found by
 * the background probe before its dead time ends.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createTcpServer } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { createRadiusAuthenticator } from '../../src/aaa/radius/authenticator.js';
import { createTacacsAuthenticator } from '../../src/aaa/tacacs/authenticator.js';
import { TacacsClient } from '../../src/aaa/tacacs/client.js';
import { loadTlsMaterial } from '../../src/aaa/tacacs/tls.js';
import type { Endpoint } from '../../src/aaa/tacacs/transport.js';
import { ServerTrouble, type AuthRequest, type Authenticator } from '../../src/aaa/types.js';
import type { RadiusConfig, TacacsConfig } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer } from '../support/radius-server.js';
import { TacacsTestServer, type RunningTacacsTestServer, type TacacsTestListen } from '../support/tacacs-server.js';

const HOST = '127.0.0.1';
const SECRET = 'dead-server-test-key';
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const users = { alice: { password: 'wonderland' } };
const health = { deadTimeMs: 60_000, probeIntervalMs: 50 };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The reason the engine gave when it marked `server` dead, from its log line. */
function deathReason(logger: { lines: string[] }, server: string): string | undefined {
  const line = logger.lines.find((l) => l.startsWith('warn AAA server marked dead ') && l.includes(`"server":"${server}"`));
  return line === undefined ? undefined : (JSON.parse(line.slice('warn AAA server marked dead '.length)) as { reason: string }).reason;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const serverAt = (port: number): string => `${HOST}:${port}`;

describe('TACACS+', () => {
  async function tacacsServer(listen: Partial<TacacsTestListen> = {}): Promise<{ server: TacacsTestServer; running: RunningTacacsTestServer }> {
    const server = new TacacsTestServer({ key: SECRET, users });
    const running = await server.start({ host: HOST, port: 0, ...listen });
    cleanup.push(() => running.close());
    return { server, running };
  }

  function tacacs(ports: number[], overrides: Partial<TacacsConfig> = {}, logger: Logger = silentLogger): Authenticator {
    const config: TacacsConfig = {
      servers: ports.map((port) => ({ host: HOST, port, tls: false })),
      secret: SECRET,
      timeoutMs: 2_000,
      authType: 'pap',
      service: 'shell',
      portName: 'netbox-gw',
      probe: true,
      authorization: false,
      accounting: false,
      tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
      ...overrides,
    };
    const auth = createTacacsAuthenticator(config, 5_000, logger, health);
    cleanup.push(() => auth.close());
    return auth;
  }

  async function closedTcpPort(): Promise<number> {
    const probe = createTcpServer().listen(0, HOST);
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  it('knows a closed port dead at once (RST), not after the timeout, and skips it from then on', async () => {
    const { running } = await tacacsServer();
    const closed = await closedTcpPort();
    const logger = recorder();
    const auth = tacacs([closed, running.port], { probe: false }, logger);
    const first = await timed(() => auth.authenticate(alice));
    expect(first.value).toMatchObject({ kind: 'accept', server: serverAt(running.port) });
    expect(first.ms).toBeLessThan(200);
    expect(deathReason(logger, serverAt(closed))).toBe('refused');
    expect(auth.servers().map((s) => s.state)).toEqual(['dead', 'up']);
  });

  it('knows a black hole dead after its timeout, and the next login does not wait for it', async () => {
    const { server: hole, running: holeRunning } = await tacacsServer();
    hole.faults.blackHole = true;
    const { running } = await tacacsServer();
    const logger = recorder();
    const auth = tacacs([holeRunning.port, running.port], { timeoutMs: 150, probe: false }, logger);
    const first = await timed(() => auth.authenticate(alice));
    expect(first.value).toMatchObject({ kind: 'accept', server: serverAt(running.port) });
    expect(first.ms).toBeGreaterThanOrEqual(145);
    expect(deathReason(logger, serverAt(holeRunning.port))).toBe('timeout');
    expect(auth.servers()[0]?.state).toBe('dead');
    const second = await timed(() => auth.authenticate(alice));
    expect(second.value).toMatchObject({ kind: 'accept', server: serverAt(running.port) });
    expect(second.ms).toBeLessThan(100);
    expect(hole.authentications).toHaveLength(1);
  });

  it('probes a dead server and uses it again as soon as it is back on its port', async () => {
    const first = await tacacsServer();
    const { running } = await tacacsServer();
    const port = first.running.port;
    const auth = tacacs([port, running.port]);
    await first.running.close();
    expect(await auth.authenticate(alice)).toMatchObject({ kind: 'accept', server: serverAt(running.port) });
    expect(auth.servers()[0]?.state).toBe('dead');
    const back = await tacacsServer({ port });
    await vi.waitFor(() => expect(auth.servers()[0]?.state).toBe('up'), { timeout: 2_000, interval: 10 });
    expect(await auth.authenticate(alice)).toMatchObject({ kind: 'accept', server: serverAt(port) });
    expect(back.server.authentications).toHaveLength(1);
  });

  it('does not probe when TACACS_PROBE is off: the server waits out its dead time', async () => {
    const first = await tacacsServer();
    const { running } = await tacacsServer();
    const port = first.running.port;
    const auth = tacacs([port, running.port], { probe: false });
    await first.running.close();
    await auth.authenticate(alice);
    await tacacsServer({ port });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(auth.servers()[0]?.state).toBe('dead');
  });

  describe('TacacsClient.probe', () => {
    let certs: TestCertificates;
    beforeAll(() => {
      certs = makeTestCertificates();
    });
    afterAll(() => certs.remove());

    const client = (endpoint: Endpoint): TacacsClient =>
      new TacacsClient({ endpoint, timeoutMs: 500, authType: 'pap', service: 'shell', portName: 'netbox-gw', authorization: false, logger: silentLogger });
    const tcp = (port: number): Endpoint => ({ name: serverAt(port), host: HOST, port, transport: { kind: 'tcp', key: SECRET } });
    const tls = (port: number): Endpoint => ({
      name: serverAt(port),
      host: HOST,
      port,
      transport: { kind: 'tls', material: loadTlsMaterial({ caFile: certs.ca.certFile, serverName: undefined, certFile: certs.client.certFile, keyFile: certs.client.keyFile }) },
    });
    const failure = async (work: Promise<void>): Promise<ServerTrouble> => {
      const error: unknown = await work.then(
        () => new Error('the probe succeeded'),
        (e: unknown) => e,
      );
      if (!(error instanceof ServerTrouble)) throw error;
      return error;
    };

    it('connects and closes without starting a session', async () => {
      const { server, running } = await tacacsServer();
      await client(tcp(running.port)).probe(AbortSignal.timeout(1_000));
      expect(server.authentications).toHaveLength(0);
      expect(server.refused).toHaveLength(0);
    });

    it('fails at once on a closed port', async () => {
      const { value, ms } = await timed(async () => failure(client(tcp(await closedTcpPort())).probe(AbortSignal.timeout(1_000))));
      expect(value.reason).toBe('refused');
      expect(ms).toBeLessThan(100);
    });

    it('over TLS, completes the handshake with the server certificate checked', async () => {
      const good = await tacacsServer({ tls: { key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert, requestCert: true } });
      await client(tls(good.running.port)).probe(AbortSignal.timeout(1_000));
      expect(good.server.authentications).toHaveLength(0);
      const rogue = await tacacsServer({ tls: { key: certs.rogueServer.key, cert: certs.rogueServer.cert } });
      const error = await failure(client(tls(rogue.running.port)).probe(AbortSignal.timeout(1_000)));
      expect(error.reason).toBe('network');
      expect(error.message).toContain('TLS certificate rejected');
    });

    it('gives up when its signal fires', async () => {
      const { running } = await tacacsServer();
      const controller = new AbortController();
      controller.abort();
      expect((await failure(client(tcp(running.port)).probe(controller.signal))).reason).toBe('deadline');
    });
  });
});

describe('RADIUS', () => {
  async function radiusServer(faults: Partial<RadiusTestServer['faults']> = {}): Promise<{ server: RadiusTestServer; port: number }> {
    const server = new RadiusTestServer({ secret: SECRET, users, faults });
    const running = await server.start({ host: HOST, port: 0 });
    cleanup.push(() => running.close());
    return { server, port: running.port };
  }

  function radius(ports: number[], timeoutMs: number, logger: Logger): Authenticator {
    const config: RadiusConfig = {
      servers: ports.map((port) => ({ host: HOST, port, transport: 'udp', requireMessageAuthenticator: 'no' })),
      secret: SECRET,
      timeoutMs,
      retries: 2,
      nasIdentifier: 'netbox-gw-test',
      nasIpAddress: undefined,
      sourceAddress: undefined,
      challengeTimeoutMs: 5_000,
      accounting: { enabled: false, servers: [] },
      tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
      probe: false,
    };
    return createRadiusAuthenticator(config, 5_000, logger, health);
  }

  async function closedUdpPort(): Promise<number> {
    const socket = createSocket('udp4');
    socket.bind(0, HOST);
    await once(socket, 'listening');
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return port;
  }

  it('knows a closed port dead at once (ICMP port unreachable), not after its retransmissions', async () => {
    const { port } = await radiusServer();
    const closed = await closedUdpPort();
    const logger = recorder();
    const auth = radius([closed, port], 1_000, logger);
    const first = await timed(() => auth.authenticate(alice));
    expect(first.value).toMatchObject({ kind: 'accept', server: serverAt(port) });
    expect(first.ms).toBeLessThan(200);
    expect(deathReason(logger, serverAt(closed))).toBe('refused');
    expect(auth.servers().map((s) => s.state)).toEqual(['dead', 'up']);
  });

  it('knows a black hole dead after its retransmissions, and the next login does not wait for it', async () => {
    const hole = await radiusServer({ blackHole: true });
    const { port } = await radiusServer();
    const logger = recorder();
    const auth = radius([hole.port, port], 80, logger);
    const first = await timed(() => auth.authenticate(alice));
    expect(first.value).toMatchObject({ kind: 'accept', server: serverAt(port) });
    expect(first.ms).toBeGreaterThanOrEqual(155);
    expect(deathReason(logger, serverAt(hole.port))).toBe('timeout');
    expect(auth.servers()[0]?.state).toBe('dead');
    const second = await timed(() => auth.authenticate(alice));
    expect(second.value).toMatchObject({ kind: 'accept', server: serverAt(port) });
    expect(second.ms).toBeLessThan(100);
    expect(hole.server.requests).toHaveLength(2);
  });
});
