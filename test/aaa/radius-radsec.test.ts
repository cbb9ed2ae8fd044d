/**
 * RadSec (RFC 6614) transport details against our TLS test server: stream framing, one send without
 * retransmission, timeouts, certificates, source address. Interoperability with FreeRADIUS's TLS listener is in
 * radius-freeradius.test.ts.
 */
import { once } from 'node:events';
import { createServer, type TLSSocket } from 'node:tls';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { RadiusClient, type RadiusClientOptions } from '../../src/aaa/radius/client.js';
import { RadiusCode, encodeResponse } from '../../src/aaa/radius/codec.js';
import { RADSEC_SECRET } from '../../src/aaa/radius/transport.js';
import { TlsMaterialError, loadTlsMaterial } from '../../src/aaa/tls.js';
import type { AuthRequest } from '../../src/aaa/types.js';
import type { RadiusServer, TlsClientConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer, troubleOf, unusedPort, type RunningRadiusTestServer } from '../support/radius-server.js';

const USERS = { alice: { password: 'wonderland', attributes: [['Class', 'netbox-admin']] as const } };
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const noDeadline = (): AbortSignal => new AbortController().signal;

let certs: TestCertificates;
let server: RadiusTestServer;
let running: RunningRadiusTestServer;

beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs?.remove());
beforeEach(async () => {
  server = new RadiusTestServer({ secret: RADSEC_SECRET, users: USERS });
  running = await server.startTls({ host: '127.0.0.1', port: 0 }, { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert });
});
afterEach(() => running.close());

const radsec = (port: number, host = '127.0.0.1'): RadiusServer => ({ host, port, transport: 'radsec', requireMessageAuthenticator: 'yes' });

function client(overrides: Partial<RadiusClientOptions> = {}, tls: Partial<TlsClientConfig> = {}): RadiusClient {
  return new RadiusClient({
    server: radsec(running.port),
    // The UDP secret must play no part over RadSec.
    secret: 'the-udp-secret',
    tls: loadTlsMaterial({ caFile: certs.ca.certFile, serverName: undefined, certFile: certs.client.certFile, keyFile: certs.client.keyFile, ...tls }, 'RadSec'),
    timeoutMs: 150,
    retries: 2,
    challengeTimeoutMs: 150,
    nasIdentifier: 'netbox-gw-test',
    logger: silentLogger,
    ...overrides,
  });
}

describe('RadSec against the test server', () => {
  it('logs in with the shared secret "radsec", the request signed as over UDP', async () => {
    const verdict = await client().verify(alice, noDeadline());
    expect(verdict.kind === 'accept' && verdict.attributes.all('Class')).toEqual(['netbox-admin']);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.messageAuthenticator).toBe('valid');
    expect(await client().verify({ ...alice, password: 'wrong' }, noDeadline())).toEqual({ kind: 'reject', message: 'Authentication failed' });
  });

  it('reassembles a reply that arrives one octet at a time', async () => {
    server.faults.fragmentReplies = true;
    expect((await client().verify(alice, noDeadline())).kind).toBe('accept');
  });

  it('sends once and waits timeoutMs × retries, since TCP does not lose the request', async () => {
    server.faults.blackHole = true;
    const started = performance.now();
    const error = await troubleOf(client({ timeoutMs: 100, retries: 3 }).verify(alice, noDeadline()));
    expect(error.reason).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(server.requests).toHaveLength(1);
  });

  it('ignores a reply that does not verify and reports a bad reply', async () => {
    server.faults.badMessageAuthenticator = true;
    expect((await troubleOf(client().verify(alice, noDeadline()))).reason).toBe('bad-reply');
  });

  it('accepts unsigned replies whatever the policy: TLS already authenticates them', async () => {
    server.faults.unsignedReplies = true;
    const logger = recorder();
    expect((await client({ logger }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(logger.lines.some((l) => l.includes('does not sign its replies'))).toBe(false);
  });

  it('answers Status-Server', async () => {
    await client().probe(noDeadline());
    expect(server.statusRequests).toHaveLength(1);
  });

  it('reports a closed port as refused at once', async () => {
    const port = await unusedPort('127.0.0.1', 'tcp');
    const started = performance.now();
    expect((await troubleOf(client({ server: radsec(port), timeoutMs: 1_000 }).verify(alice, noDeadline()))).reason).toBe('refused');
    expect(performance.now() - started).toBeLessThan(300);
  });

  it('honours the abort signal, during and before the exchange', async () => {
    server.faults.blackHole = true;
    expect((await troubleOf(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(50)))).reason).toBe('deadline');
    const aborted = new AbortController();
    aborted.abort();
    expect((await troubleOf(client().verify(alice, aborted.signal))).reason).toBe('deadline');
  });

  it('connects from the configured source address', async () => {
    expect((await client({ sourceAddress: '127.0.0.2' }).verify(alice, noDeadline())).kind).toBe('accept');
    expect(server.requests[0]?.from.address).toBe('127.0.0.2');
  });

  it('never accepts from a server with a certificate from another CA, or for another name', async () => {
    const logger = recorder();
    const rogue = await troubleOf(client({ logger }, { caFile: certs.rogueCa.certFile }).verify(alice, noDeadline()));
    expect(rogue.reason).toBe('network');
    expect(rogue.message).toContain('TLS certificate rejected');
    expect(logger.lines.some((l) => l.startsWith('warn RadSec server certificate rejected'))).toBe(true);
    const misnamed = await troubleOf(client({}, { serverName: 'radius.example.net' }).verify(alice, noDeadline()));
    expect(misnamed.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(server.requests).toHaveLength(0);
  });

  it('leaves no connection open, whatever the outcome', async () => {
    const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = tcpHandles();
    await client().verify(alice, noDeadline());
    await troubleOf(client({}, { serverName: 'radius.example.net' }).verify(alice, noDeadline()));
    server.faults.blackHole = true;
    await troubleOf(client({ timeoutMs: 30, retries: 1 }).verify(alice, noDeadline()));
    await troubleOf(client({ timeoutMs: 5_000 }).verify(alice, AbortSignal.timeout(30)));
    // The test server's side of each connection goes too once ours is closed.
    await vi.waitFor(() => expect(tcpHandles()).toBe(before), { timeout: 500, interval: 10 });
  });
});

describe('RadSec certificate files', () => {
  it('are checked when loaded, so a bad one stops start-up instead of a login', () => {
    const mismatched = { caFile: certs.ca.certFile, serverName: undefined, certFile: certs.client.certFile, keyFile: certs.server.keyFile };
    expect(() => loadTlsMaterial(mismatched, 'RadSec')).toThrow(TlsMaterialError);
    const notPem = { caFile: certs.server.keyFile, serverName: undefined, certFile: undefined, keyFile: undefined };
    expect(() => loadTlsMaterial(notPem, 'RadSec')).toThrow(/RadSec: the CA, certificate or key file cannot be used/);
    expect(() => loadTlsMaterial({ ...mismatched, keyFile: undefined }, 'RadSec')).toThrow(RangeError);
  });
});

describe('RadSec stream framing against a misbehaving server', () => {
  /** A TLS server that answers every connection with `reply(firstChunk)`. */
  async function rawServer(reply: (request: Buffer) => Buffer): Promise<{ port: number; close: () => Promise<void> }> {
    const connections = new Set<TLSSocket>();
    const tls = createServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true }, (socket) => {
      connections.add(socket);
      socket.on('error', () => socket.destroy());
      socket.once('data', (chunk: Buffer) => socket.write(reply(chunk)));
    });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    const address = tls.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return {
      port: address.port,
      close: async () => {
        for (const socket of connections) socket.destroy();
        await new Promise<void>((resolve) => tls.close(() => resolve()));
      },
    };
  }

  const signedReply = (request: Buffer, identifier = request[1]!): Buffer =>
    encodeResponse({
      code: RadiusCode.AccessAccept,
      identifier,
      requestAuthenticator: request.subarray(4, 20),
      secret: RADSEC_SECRET,
      attributes: [],
      messageAuthenticator: true,
    });

  it('skips a packet for another Identifier in the same chunk and takes the right one after it', async () => {
    const raw = await rawServer((request) => Buffer.concat([signedReply(request, (request[1]! + 1) % 256), signedReply(request)]));
    try {
      expect((await client({ server: radsec(raw.port) }).verify(alice, noDeadline())).kind).toBe('accept');
    } finally {
      await raw.close();
    }
  });

  it('gives up at once on a Length that cannot frame a packet', async () => {
    const raw = await rawServer(() => Buffer.from([2, 0, 0, 3, 0, 0]));
    try {
      const started = performance.now();
      const error = await troubleOf(client({ server: radsec(raw.port), timeoutMs: 2_000 }).verify(alice, noDeadline()));
      expect(error.reason).toBe('bad-reply');
      expect(error.message).toContain('unframeable');
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await raw.close();
    }
  });
});
