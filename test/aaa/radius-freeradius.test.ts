import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  RadiusCode,
  decodePacket,
  describeAttributes,
  encodeAccessRequest,
  verifyResponse,
  type RadiusPacket,
} from '../../src/aaa/radius/codec.js';
import { createRadiusAuthenticator } from '../../src/aaa/radius/authenticator.js';
import { RadiusClient } from '../../src/aaa/radius/client.js';
import { ServerTrouble, type AuthRequest } from '../../src/aaa/types.js';
import { silentLogger } from '../../src/log.js';
import { startFreeRadius, type RunningFreeRadius } from '../support/freeradius.js';

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
} as const;
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };

let plain: RunningFreeRadius;
let strict: RunningFreeRadius;

beforeAll(async () => {
  [plain, strict] = await Promise.all([
    startFreeRadius({ secret: SECRET, users: USERS }),
    startFreeRadius({ secret: SECRET, users: USERS, requireMessageAuthenticator: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), strict?.stop()]);
});

function client(port: number, secret = SECRET): RadiusClient {
  return new RadiusClient({
    server: { host: '127.0.0.1', port },
    secret,
    timeoutMs: 400,
    retries: 1,
    nasIdentifier: 'netbox-gw-interop',
    logger: silentLogger,
  });
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
    const verdict = await client(plain.port).verify(alice, AbortSignal.timeout(2_000));
    expect(verdict.kind).toBe('accept');
    if (verdict.kind !== 'accept') return;
    expect(verdict.attributes.all('Class')).toEqual(['netbox-admin', 'group=ops']);
    expect(verdict.attributes.all('Cisco-AVPair')).toEqual(['shell:roles="netbox-admin netbox-ops"', 'shell:priv-lvl=15']);
    expect(verdict.attributes.all('Filter-Id')).toEqual(['netbox-readonly']);
    // The log line may reach our pipe just after the reply reaches our socket.
    await vi.waitFor(() => expect(plain.output()).toContain('Login OK: [alice]'), { timeout: 1_000 });
  });

  it('rejects a wrong password with a Reply-Message and none of the user’s attributes', async () => {
    expect(await client(plain.port).verify({ ...alice, password: 'not-it' }, AbortSignal.timeout(2_000))).toEqual({
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
    expect((await client(plain.port).verify({ ...alice, username: 'mallory' }, AbortSignal.timeout(2_000))).kind).toBe('reject');
  });

  it('treats a wrong shared secret as server trouble, never as an answer', async () => {
    const error: unknown = await client(plain.port, 'not-the-secret')
      .verify(alice, AbortSignal.timeout(2_000))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerTrouble);
    // FreeRADIUS drops a request whose Message-Authenticator does not verify, so the client hears nothing.
    expect((error as ServerTrouble).reason).toBe('timeout');
    const outcome = await createRadiusAuthenticator(
      { servers: [{ host: '127.0.0.1', port: plain.port }], secret: 'not-the-secret', timeoutMs: 300, retries: 1, nasIdentifier: 'gw' },
      1_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome.kind).toBe('unavailable');
  });

  it('reaches the second server when the first port is closed', async () => {
    const closed = createSocket('udp4');
    closed.bind(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const started = performance.now();
    const outcome = await createRadiusAuthenticator(
      {
        servers: [
          { host: '127.0.0.1', port: closedPort },
          { host: '127.0.0.1', port: plain.port },
        ],
        secret: SECRET,
        timeoutMs: 400,
        retries: 2,
        nasIdentifier: 'netbox-gw-interop',
      },
      2_000,
      silentLogger,
    ).authenticate(alice);
    expect(outcome).toMatchObject({ kind: 'accept', server: `127.0.0.1:${plain.port}` });
    // The closed port is refused at once, not after its 2 × 400 ms of timeouts.
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('is accepted by a client entry with require_message_authenticator = yes', async () => {
    expect((await client(strict.port).verify(alice, AbortSignal.timeout(2_000))).kind).toBe('accept');
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
