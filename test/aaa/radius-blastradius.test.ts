/**
 * The per-server BlastRADIUS (CVE-2024-3596) policy against our test server, which signs its replies unless told
 * not to: signed, unsigned and badly signed replies in each `requireMessageAuthenticator` mode. The same policy
 * against a real, unsigning FreeRADIUS is in radius-freeradius.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RadiusClient } from '../../src/aaa/radius/client.js';
import type { AuthRequest } from '../../src/aaa/types.js';
import type { RequireMessageAuthenticator } from '../../src/config/types.js';
import { recorder } from '../support/log-recorder.js';
import { RadiusTestServer, troubleOf, type RunningRadiusTestServer } from '../support/radius-server.js';

const SECRET = 'blastradius-test-secret';
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const noDeadline = (): AbortSignal => new AbortController().signal;

let server: RadiusTestServer;
let running: RunningRadiusTestServer;

beforeEach(async () => {
  server = new RadiusTestServer({ secret: SECRET, users: { alice: { password: 'wonderland', attributes: [['Class', 'netbox-admin']] } } });
  running = await server.start({ host: '127.0.0.1', port: 0 });
});
afterEach(() => running.close());

function client(requireMessageAuthenticator: RequireMessageAuthenticator, logger = recorder()): { client: RadiusClient; lines: string[] } {
  const c = new RadiusClient({
    server: { host: '127.0.0.1', port: running.port, transport: 'udp', requireMessageAuthenticator },
    secret: SECRET,
    timeoutMs: 100,
    retries: 1,
    challengeTimeoutMs: 100,
    nasIdentifier: 'netbox-gw-test',
    logger,
  });
  return { client: c, lines: logger.lines };
}

const unsignedWarnings = (lines: string[]) => lines.filter((l) => l.startsWith('warn RADIUS server does not sign its replies'));

describe.each(['yes', 'no', 'auto'] as const)('requireMessageAuthenticator = %s', (mode) => {
  it('accepts a signed reply', async () => {
    const { client: c, lines } = client(mode);
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(unsignedWarnings(lines)).toEqual([]);
  });

  it('discards a reply with a wrong Message-Authenticator, even though its Response Authenticator is right', async () => {
    server.faults.badMessageAuthenticator = true;
    const { client: c, lines } = client(mode);
    const error = await troubleOf(c.verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(error.message).toContain('message-authenticator does not verify');
    expect(lines.some((l) => l.startsWith('warn RADIUS reply ignored') && l.includes('message-authenticator'))).toBe(true);
  });
});

describe('unsigned replies', () => {
  beforeEach(() => {
    server.faults.unsignedReplies = true;
  });

  it('yes: discards them, fails closed with a log line naming the setting, and warns once', async () => {
    const { client: c, lines } = client('yes');
    for (let login = 0; login < 2; login++) {
      const error = await troubleOf(c.verify(alice, noDeadline()));
      expect(error.reason).toBe('bad-reply');
      expect(error.message).toContain('discarded an unsigned reply');
      expect(error.message).toContain('RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR=true');
    }
    expect(lines.filter((l) => l.startsWith('warn RADIUS reply ignored') && l.includes('discarded an unsigned reply'))).toHaveLength(2);
    expect(unsignedWarnings(lines)).toHaveLength(1);
  });

  it('no: accepts them and warns once per server, naming the risk and the fix', async () => {
    const { client: c, lines } = client('no');
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect((await c.verify({ ...alice, password: 'wrong' }, noDeadline())).kind).toBe('reject');
    const [warning, ...more] = unsignedWarnings(lines);
    expect(more).toEqual([]);
    expect(warning).toContain('CVE-2024-3596');
    expect(warning).toContain('forge');
    expect(warning).toContain('FreeRADIUS 3.2.5');
    expect(warning).toContain('RadSec');
    // Each client is one server: another server warns for itself.
    const other = client('no');
    await other.client.verify(alice, noDeadline());
    expect(unsignedWarnings(other.lines)).toHaveLength(1);
  });

  it('auto: accepts them until the server has once signed a reply, then discards them', async () => {
    const { client: c, lines } = client('auto');
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(unsignedWarnings(lines)).toHaveLength(1);

    server.faults.unsignedReplies = false;
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
    expect(lines.some((l) => l.startsWith('info RADIUS server signs its replies'))).toBe(true);

    // From now on an unsigned reply claiming to be from this server is taken for a forgery.
    server.faults.unsignedReplies = true;
    const error = await troubleOf(c.verify(alice, noDeadline()));
    expect(error.reason).toBe('bad-reply');
    expect(error.message).toContain('from a server that signs its replies');
    expect(unsignedWarnings(lines)).toHaveLength(1);
    // Learnt per server: a fresh client for the same server starts trusting again.
    expect((await client('auto').client.verify(alice, noDeadline())).kind).toBe('accept');
  });

  it('auto: a signed Status-Server answer teaches nothing', async () => {
    server.faults.unsignedReplies = false;
    const { client: c } = client('auto');
    await c.probe(noDeadline());
    server.faults.unsignedReplies = true;
    expect((await c.verify(alice, noDeadline())).kind).toBe('accept');
  });

  it('probes follow the same policy', async () => {
    expect((await troubleOf(client('yes').client.probe(noDeadline()))).reason).toBe('bad-reply');
    await client('auto').client.probe(noDeadline());
    await client('no').client.probe(noDeadline());
  });
});
