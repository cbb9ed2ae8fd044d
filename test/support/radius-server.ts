/**
 * A small RADIUS server on loopback for tests and `npm run demo`, built on the gateway's own codec (server-side
 * half). It answers PAP Access-Requests from a user table (with challenge rounds for users that have them),
 * Status-Server (RFC 5997) and Accounting-Requests (RFC 2866), over UDP or RadSec (TLS), and has switches for the
 * faults a client must survive. No test-framework imports: the demo runs it under plain Node.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createNetServer, isIP } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

import {
  RadiusCode,
  RadiusDecodeError,
  decodePacket,
  describeAttributes,
  encodeAttribute,
  encodeResponse,
  packetLength,
  recoverPassword,
  verifyAccountingRequest,
  verifyRequestMessageAuthenticator,
  writeResponseAuthenticator,
  type MessageAuthenticatorStatus,
  type RadiusAttribute,
  type RadiusPacket,
} from '../../src/aaa/radius/codec.js';
import { Attr } from '../../src/aaa/radius/dictionary.js';
import { ServerTrouble } from '../../src/aaa/types.js';

/** One Access-Challenge round: the prompt sent, and the answer (e.g. a one-time code) that passes it. */
export interface RadiusTestChallenge {
  /** Sent as Reply-Message; absent: the challenge has none. */
  readonly prompt?: string;
  readonly answer: string;
}

export interface RadiusTestUser {
  readonly password: string;
  /**
   * Reply attributes of the Access-Accept, by dictionary name (`Class`, `Cisco-AVPair`, `26:14823:1`, `99`); a value
   * is text, or bytes for binary octets (as `encodeAttribute` takes them).
   */
  readonly attributes?: ReadonlyArray<readonly [name: string, value: string | Uint8Array]>;
  /**
   * Challenge rounds after a correct password, in order: each is an Access-Challenge with the prompt and a fresh
   * State; the accept comes after the last answer. A wrong answer, or an unknown State, is rejected.
   */
  readonly challenges?: readonly RadiusTestChallenge[];
}

export interface RadiusTestFaults {
  /** Sign replies with another secret, as a server configured with the wrong shared secret does. */
  wrongSecret: boolean;
  /** Answer nothing at all. */
  blackHole: boolean;
  /** Drop this many requests, then answer normally (decremented as requests arrive). */
  dropRequests: number;
  /** Answer with an Access-Accept whose authenticator is random: well-formed, matching Identifier, unsigned. */
  garbage: boolean;
  /** Correct Response Authenticator but a wrong Message-Authenticator. */
  badMessageAuthenticator: boolean;
  /** Silently drop requests without a Message-Authenticator (FreeRADIUS require_message_authenticator). */
  requireMessageAuthenticator: boolean;
  /** Replies without Message-Authenticator, like servers that predate the BlastRADIUS fixes. */
  unsignedReplies: boolean;
  /** Send correctly signed replies from another UDP port than the one the request went to. */
  replyFromOtherPort: boolean;
  /** Access-Challenge without a State attribute. */
  challengeWithoutState: boolean;
  /** Ignore Status-Server, as servers without RFC 5997 support do. */
  ignoreStatusServer: boolean;
  /** RadSec: write each reply one octet at a time, so the client must reassemble it from the stream. */
  fragmentReplies: boolean;
}

export interface ReceivedRequest {
  readonly from: { readonly address: string; readonly port: number };
  /** The request's RADIUS octets, for byte-level assertions such as identical retransmissions. */
  readonly raw: Buffer;
  readonly packet: RadiusPacket;
  /** Access-Request and Status-Server: the Message-Authenticator; Accounting-Request: the Request Authenticator. */
  readonly messageAuthenticator: MessageAuthenticatorStatus;
  /** Request attributes by name, password and Message-Authenticator left out. */
  readonly attributes: ReadonlyArray<[name: string, value: string]>;
}

export interface RadiusTestServerOptions {
  /** For RadSec, "radsec" (RFC 6614). */
  readonly secret: string;
  readonly users: Readonly<Record<string, RadiusTestUser>>;
  readonly faults?: Partial<RadiusTestFaults>;
}

export interface RunningRadiusTestServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** PEM text for the RadSec listener. */
export interface RadiusTestTls {
  readonly cert: string;
  readonly key: string;
  /** Client certificates must chain to this CA. */
  readonly ca: string;
}

const NO_FAULTS: RadiusTestFaults = {
  wrongSecret: false,
  blackHole: false,
  dropRequests: 0,
  garbage: false,
  badMessageAuthenticator: false,
  requireMessageAuthenticator: false,
  unsignedReplies: false,
  replyFromOtherPort: false,
  challengeWithoutState: false,
  ignoreStatusServer: false,
  fragmentReplies: false,
};

interface PendingChallenge {
  readonly username: string;
  /** Index of the round whose answer is awaited. */
  readonly round: number;
}

interface Decision {
  readonly code: RadiusCode;
  readonly attributes: RadiusAttribute[];
}

export class RadiusTestServer {
  /** Change at any time; applies to the next request. */
  readonly faults: RadiusTestFaults;
  /** Every decodable Access-Request received, answered or not, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Every decodable Status-Server received. */
  readonly statusRequests: ReceivedRequest[] = [];
  /** Every decodable Accounting-Request received, authentic or not. */
  readonly accountingRequests: ReceivedRequest[] = [];
  readonly #secret: string;
  readonly #users: Readonly<Record<string, RadiusTestUser>>;
  /** Open challenges by State (hex). */
  readonly #challenges = new Map<string, PendingChallenge>();

  constructor(options: RadiusTestServerOptions) {
    this.#secret = options.secret;
    this.#users = options.users;
    this.faults = { ...NO_FAULTS, ...options.faults };
  }

  async start(listen: { host: string; port: number }): Promise<RunningRadiusTestServer> {
    const type = isIP(listen.host) === 6 ? 'udp6' : 'udp4';
    // Clients in the same process send a burst before this server gets to read: with the default 208 KiB
    // buffer, a few hundred datagrams overflow it (the kernel caps the request at net.core.rmem_max).
    const socket = createSocket({ type, recvBufferSize: 4 * 1024 * 1024 });
    const otherPort = createSocket({ type });
    await Promise.all([bind(socket, listen.host, listen.port), bind(otherPort, listen.host, 0)]);
    socket.on('message', (datagram, from) => {
      const reply = this.#handle(datagram, from);
      if (reply) (this.faults.replyFromOtherPort ? otherPort : socket).send(reply, from.port, from.address);
    });
    return {
      host: listen.host,
      port: socket.address().port,
      close: async () => {
        await Promise.all([closeSocket(socket), closeSocket(otherPort)]);
      },
    };
  }

  /** RadSec (RFC 6614): TLS 1.2+ on TCP, client certificate required, packets framed by their Length field. */
  async startTls(listen: { host: string; port: number }, tls: RadiusTestTls): Promise<RunningRadiusTestServer> {
    const connections = new Set<TLSSocket>();
    const server = createTlsServer(
      { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (connection) => {
        connections.add(connection);
        connection.on('close', () => connections.delete(connection));
        connection.on('error', () => connection.destroy());
        let buffered = Buffer.alloc(0);
        connection.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          while (buffered.length >= 4) {
            let length: number;
            try {
              length = packetLength(buffered);
            } catch (error) {
              if (!(error instanceof RadiusDecodeError)) throw error;
              connection.destroy();
              return;
            }
            if (buffered.length < length) return;
            const packet = buffered.subarray(0, length);
            buffered = buffered.subarray(length);
            const reply = this.#handle(packet, { address: connection.remoteAddress ?? '', port: connection.remotePort ?? 0 });
            if (reply) writeReply(connection, reply, this.faults.fragmentReplies);
          }
        });
      },
    );
    // Handshake failures (a client without a certificate) are the client's problem, not the test server's.
    server.on('tlsClientError', () => {});
    server.listen(listen.port, listen.host);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('RadSec test server has no TCP address');
    return {
      host: listen.host,
      port: address.port,
      close: async () => {
        for (const connection of connections) connection.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  #handle(octets: Buffer, from: { address: string; port: number }): Buffer | undefined {
    let packet: RadiusPacket;
    try {
      packet = decodePacket(octets);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return undefined;
      throw error;
    }
    const authentic = this.#authenticity(packet);
    if (authentic === undefined) return undefined;
    const received: ReceivedRequest = {
      from: { address: from.address, port: from.port },
      raw: packet.raw,
      packet,
      messageAuthenticator: authentic,
      attributes: describeAttributes(packet.attributes),
    };
    const log = packet.code === RadiusCode.AccessRequest ? this.requests : packet.code === RadiusCode.StatusServer ? this.statusRequests : this.accountingRequests;
    log.push(received);

    const faults = this.faults;
    if (faults.blackHole) return undefined;
    if (faults.dropRequests > 0) {
      faults.dropRequests--;
      return undefined;
    }
    // RFC 3579 §3.2 and RFC 2866 §3: a request that is not authentic is silently discarded.
    if (authentic === 'invalid') return undefined;
    if (authentic === 'absent' && (faults.requireMessageAuthenticator || packet.code === RadiusCode.StatusServer)) return undefined;
    if (packet.code === RadiusCode.StatusServer && faults.ignoreStatusServer) return undefined;
    if (faults.garbage) return Buffer.concat([Buffer.from([RadiusCode.AccessAccept, packet.identifier, 0, 20]), randomBytes(16)]);

    const { code, attributes } = this.#decide(packet);
    const secret = faults.wrongSecret ? `${this.#secret}-but-wrong` : this.#secret;
    const reply = encodeResponse({
      code,
      identifier: packet.identifier,
      requestAuthenticator: packet.authenticator,
      secret,
      attributes,
      // Accounting-Responses are never signed, by any server: RFC 2866 has no Message-Authenticator.
      messageAuthenticator: code !== RadiusCode.AccountingResponse && (!faults.unsignedReplies || faults.badMessageAuthenticator),
    });
    if (faults.badMessageAuthenticator && code !== RadiusCode.AccountingResponse) {
      // Message-Authenticator is the first attribute: its value starts at octet 22.
      reply[22] = reply[22]! ^ 0xff;
      writeResponseAuthenticator(reply, packet.authenticator, secret);
    }
    return reply;
  }

  /** How the request proves it comes from a holder of the secret; undefined: not a request this server serves. */
  #authenticity(packet: RadiusPacket): MessageAuthenticatorStatus | undefined {
    switch (packet.code) {
      case RadiusCode.AccessRequest:
      case RadiusCode.StatusServer:
        return verifyRequestMessageAuthenticator(packet, this.#secret);
      case RadiusCode.AccountingRequest:
        return verifyAccountingRequest(packet, this.#secret) ? 'valid' : 'invalid';
      default:
        return undefined;
    }
  }

  #decide(packet: RadiusPacket): Decision {
    // RFC 5997 §3: a server that is alive answers Status-Server on its authentication port with Access-Accept.
    if (packet.code === RadiusCode.StatusServer) return { code: RadiusCode.AccessAccept, attributes: [encodeAttribute('Reply-Message', 'alive')] };
    if (packet.code === RadiusCode.AccountingRequest) return { code: RadiusCode.AccountingResponse, attributes: [] };

    const rejected = { code: RadiusCode.AccessReject, attributes: [encodeAttribute('Reply-Message', 'Authentication failed')] };
    const username = packet.attributes.find((a) => a.type === Attr.UserName)?.value.toString('utf8');
    const hidden = packet.attributes.find((a) => a.type === Attr.UserPassword)?.value;
    const user = username === undefined ? undefined : this.#users[username];
    if (username === undefined || !user || !hidden) return rejected;
    let password: Buffer;
    try {
      password = recoverPassword(hidden, this.#secret, packet.authenticator);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return rejected;
      throw error;
    }

    const state = packet.attributes.find((a) => a.type === Attr.State)?.value;
    let round = 0;
    if (state !== undefined) {
      const pending = this.#challenges.get(state.toString('hex'));
      // One answer per State, as real servers do: a replayed State is unknown.
      this.#challenges.delete(state.toString('hex'));
      const expected = pending && user.challenges?.[pending.round];
      if (!pending || pending.username !== username || !expected || !password.equals(Buffer.from(expected.answer, 'utf8'))) return rejected;
      round = pending.round + 1;
    } else if (!password.equals(Buffer.from(user.password, 'utf8'))) {
      return rejected;
    }

    const challenge = user.challenges?.[round];
    if (challenge !== undefined) {
      const newState = randomBytes(12);
      this.#challenges.set(newState.toString('hex'), { username, round });
      return {
        code: RadiusCode.AccessChallenge,
        attributes: [
          ...(challenge.prompt === undefined ? [] : [encodeAttribute('Reply-Message', challenge.prompt)]),
          ...(this.faults.challengeWithoutState ? [] : [{ type: Attr.State, value: newState }]),
        ],
      };
    }
    return { code: RadiusCode.AccessAccept, attributes: (user.attributes ?? []).map(([name, value]) => encodeAttribute(name, value)) };
  }
}

function writeReply(connection: TLSSocket, reply: Buffer, fragment: boolean): void {
  if (!fragment) {
    connection.write(reply);
    return;
  }
  // Separate writes become separate TLS records, which the client receives as separate chunks.
  let offset = 0;
  const next = (): void => {
    if (offset >= reply.length || connection.destroyed) return;
    connection.write(reply.subarray(offset, offset + 1));
    offset++;
    setImmediate(next);
  };
  next();
}

async function bind(socket: Socket, host: string, port: number): Promise<void> {
  socket.bind(port, host);
  // Rejects with the socket's error (e.g. EADDRINUSE) instead of hanging.
  await once(socket, 'listening');
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** A loopback port nothing listens on: bound, read, released. */
export async function unusedPort(host: string, protocol: 'udp' | 'tcp'): Promise<number> {
  if (protocol === 'udp') {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await bind(socket, host, 0);
    const { port } = socket.address();
    await closeSocket(socket);
    return port;
  }
  const server = createNetServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** The ServerTrouble a client call ends with; anything else (a verdict, another error) is re-thrown as a failure. */
export async function troubleOf(work: Promise<unknown>): Promise<ServerTrouble> {
  const error: unknown = await work.then(
    (value) => new Error(`expected ServerTrouble, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  if (!(error instanceof ServerTrouble)) throw error;
  return error;
}
