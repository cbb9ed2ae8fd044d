/**
 * RFC 2866 accounting against our test server: what a Start and a Stop carry, how each end of a session is named,
 * failover between accounting servers, and that nothing ever throws. The FreeRADIUS detail-file round trip is in
 * radius-freeradius.test.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { RadiusAccounting, type RadiusAccountingOptions } from '../../src/aaa/radius/accounting.js';
import { createRadiusAccounting } from '../../src/aaa/radius/authenticator.js';
import { RADSEC_SECRET } from '../../src/aaa/radius/transport.js';
import { loadTlsMaterial } from '../../src/aaa/tls.js';
import type { AccountingSession, SessionEndCause } from '../../src/aaa/types.js';
import type { RadiusConfig, RadiusServer } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer, unusedPort, type RunningRadiusTestServer } from '../support/radius-server.js';

const SECRET = 'accounting-test-secret';
const session: AccountingSession = { id: 'c0ffee00-0000-4000-8000-000000000001', username: 'alice', clientAddress: '192.0.2.7', startedAt: 1_700_000_000_000 };

let server: RadiusTestServer;
let running: RunningRadiusTestServer;
const extra: RunningRadiusTestServer[] = [];

beforeEach(async () => {
  server = new RadiusTestServer({ secret: SECRET, users: {} });
  running = await server.start({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await running.close();
  await Promise.all(extra.splice(0).map((s) => s.close()));
});

const udp = (port: number): RadiusServer => ({ host: '127.0.0.1', port, transport: 'udp', requireMessageAuthenticator: 'no' });

function accounting(overrides: Partial<RadiusAccountingOptions> = {}): RadiusAccounting {
  return new RadiusAccounting({
    servers: [udp(running.port)],
    secret: SECRET,
    timeoutMs: 80,
    retries: 2,
    nasIdentifier: 'netbox-gw-test',
    logger: silentLogger,
    ...overrides,
  });
}

describe('RadiusAccounting against the test server', () => {
  it('sends an authentic Start and Stop with the same Acct-Session-Id and the session’s facts', async () => {
    const a = accounting({ nasIpAddress: '198.51.100.20' });
    await a.start(session);
    await a.stop(session, { at: session.startedAt + 125_900, cause: 'logout' });
    const [start, stop, ...more] = server.accountingRequests;
    expect(more).toEqual([]);
    expect(start?.messageAuthenticator).toBe('valid');
    expect(stop?.messageAuthenticator).toBe('valid');
    expect(start?.packet.code).toBe(4);
    expect(start?.attributes).toEqual([
      ['Acct-Status-Type', '1'],
      ['Acct-Session-Id', session.id],
      ['User-Name', 'alice'],
      ['NAS-Identifier', 'netbox-gw-test'],
      ['NAS-IP-Address', '198.51.100.20'],
      ['Service-Type', '1'],
      ['Acct-Authentic', '1'],
      ['Calling-Station-Id', '192.0.2.7'],
      ['Event-Timestamp', '1700000000'],
    ]);
    expect(stop?.attributes).toEqual([
      ['Acct-Status-Type', '2'],
      ['Acct-Session-Id', session.id],
      ['User-Name', 'alice'],
      ['NAS-Identifier', 'netbox-gw-test'],
      ['NAS-IP-Address', '198.51.100.20'],
      ['Service-Type', '1'],
      ['Acct-Authentic', '1'],
      ['Calling-Station-Id', '192.0.2.7'],
      ['Event-Timestamp', '1700000125'],
      ['Acct-Session-Time', '125'],
      ['Acct-Terminate-Cause', '1'],
    ]);
    // No Message-Authenticator: the RFC 2866 Request Authenticator already signs the whole packet.
    expect(start?.packet.attributes.some((attribute) => attribute.type === 80)).toBe(false);
  });

  it.each([
    ['logout', '1'],
    ['idle-timeout', '4'],
    ['max-age', '5'],
    ['netbox-refused', '6'],
  ] as const)('names a session ended by %s with Acct-Terminate-Cause %s', async (cause: SessionEndCause, value) => {
    await accounting().stop(session, { at: session.startedAt + 1_000, cause });
    expect(server.accountingRequests[0]?.attributes).toContainEqual(['Acct-Terminate-Cause', value]);
  });

  it('retransmits the identical packet when the first is lost', async () => {
    server.faults.dropRequests = 1;
    const logger = recorder();
    await accounting({ logger }).start(session);
    expect(server.accountingRequests).toHaveLength(2);
    expect(server.accountingRequests[0]!.raw.equals(server.accountingRequests[1]!.raw)).toBe(true);
    expect(logger.lines.some((l) => l.startsWith('info RADIUS accounting record sent'))).toBe(true);
  });

  it('moves on to the next server after a black hole, a closed port or a reply that does not verify', async () => {
    const second = new RadiusTestServer({ secret: SECRET, users: {} });
    extra.push(await second.start({ host: '127.0.0.1', port: 0 }));
    for (const fault of ['blackHole', 'wrongSecret'] as const) {
      server.faults[fault] = true;
      await accounting({ servers: [udp(running.port), udp(extra[0]!.port)] }).start(session);
      server.faults[fault] = false;
    }
    await accounting({ servers: [udp(await unusedPort('127.0.0.1', 'udp')), udp(extra[0]!.port)] }).start(session);
    expect(second.accountingRequests).toHaveLength(3);
  });

  it('logs and returns when no server records it; never throws', async () => {
    server.faults.blackHole = true;
    const logger = recorder();
    await expect(accounting({ logger, retries: 1 }).stop(session, { at: Date.now(), cause: 'max-age' })).resolves.toBeUndefined();
    expect(logger.lines.some((l) => l.startsWith('error RADIUS accounting record not recorded by any server'))).toBe(true);
    // A user name RADIUS cannot carry is an encoding error: logged, not thrown either.
    await expect(accounting({ logger }).start({ ...session, username: 'x'.repeat(300) })).resolves.toBeUndefined();
    expect(logger.lines.some((l) => l.startsWith('error RADIUS accounting record could not be sent'))).toBe(true);
  });
});

describe('RadiusAccounting over RadSec', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterAll(() => certs?.remove());

  it('records Start with the "radsec" secret', async () => {
    const tlsServer = new RadiusTestServer({ secret: RADSEC_SECRET, users: {} });
    extra.push(await tlsServer.startTls({ host: '127.0.0.1', port: 0 }, { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert }));
    const tls = loadTlsMaterial({ caFile: certs.ca.certFile, serverName: undefined, certFile: certs.client.certFile, keyFile: certs.client.keyFile }, 'RadSec');
    const logger = recorder();
    await accounting({ servers: [{ ...udp(extra[0]!.port), transport: 'radsec' }], tls, logger }).start(session);
    expect(tlsServer.accountingRequests.map((r) => r.messageAuthenticator)).toEqual(['valid']);
    expect(logger.lines.some((l) => l.startsWith('info RADIUS accounting record sent'))).toBe(true);
  });
});

describe('createRadiusAccounting', () => {
  const config = (enabled: boolean): RadiusConfig => ({
    servers: [{ ...udp(running.port), port: 1 }],
    secret: SECRET,
    timeoutMs: 80,
    retries: 1,
    nasIdentifier: 'netbox-gw-test',
    nasIpAddress: undefined,
    sourceAddress: undefined,
    challengeTimeoutMs: 80,
    accounting: { enabled, servers: [udp(running.port)] },
    tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
    probe: false,
  });

  it('is undefined when accounting is off', () => {
    expect(createRadiusAccounting(config(false), silentLogger)).toBeUndefined();
  });

  it('sends to the accounting servers, not the authentication ones', async () => {
    await createRadiusAccounting(config(true), silentLogger)?.start(session);
    expect(server.accountingRequests).toHaveLength(1);
  });
});
