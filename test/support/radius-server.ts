/**
 * A small RADIUS server on loopback UDP for tests and `npm run demo`, built on the gateway's own codec
 * (server-side half). It answers PAP Access-Requests from a user table and has switches for the faults a
 * client must survive. No test-framework imports: the demo runs it under plain Node.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIP } from 'node:net';

import {
  RadiusCode,
  RadiusDecodeError,
  decodePacket,
  describeAttributes,
  encodeAttribute,
  encodeResponse,
  recoverPassword,
  verifyRequestMessageAuthenticator,
  writeResponseAuthenticator,
  type MessageAuthenticatorStatus,
  type RadiusAttribute,
  type RadiusPacket,
} from '../../src/aaa/radius/codec.js';
import { Attr } from '../../src/aaa/radius/dictionary.js';

export interface RadiusTestUser {
  readonly password: string;
  /** Reply attributes of the Access-Accept, by dictionary name (`Class`, `Cisco-AVPair`, `26:14823:1`, `99`). */
  readonly attributes?: ReadonlyArray<readonly [name: string, value: string]>;
  /** Answer a correct password with an Access-Challenge carrying this prompt instead of an accept. */
  readonly challenge?: string;
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
}

export interface ReceivedRequest {
  readonly from: { readonly address: string; readonly port: number };
  /** The datagram's RADIUS octets, for byte-level assertions such as identical retransmissions. */
  readonly raw: Buffer;
  readonly packet: RadiusPacket;
  readonly messageAuthenticator: MessageAuthenticatorStatus;
  /** Request attributes by name, password and Message-Authenticator left out. */
  readonly attributes: ReadonlyArray<[name: string, value: string]>;
}

export interface RadiusTestServerOptions {
  readonly secret: string;
  readonly users: Readonly<Record<string, RadiusTestUser>>;
  readonly faults?: Partial<RadiusTestFaults>;
}

export interface RunningRadiusTestServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
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
};

export class RadiusTestServer {
  /** Change at any time; applies to the next request. */
  readonly faults: RadiusTestFaults;
  /** Every decodable Access-Request received, answered or not, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  readonly #secret: string;
  readonly #users: Readonly<Record<string, RadiusTestUser>>;

  constructor(options: RadiusTestServerOptions) {
    this.#secret = options.secret;
    this.#users = options.users;
    this.faults = { ...NO_FAULTS, ...options.faults };
  }

  async start(listen: { host: string; port: number }): Promise<RunningRadiusTestServer> {
    const type = isIP(listen.host) === 6 ? 'udp6' : 'udp4';
    const socket = createSocket({ type });
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

  #handle(datagram: Buffer, from: RemoteInfo): Buffer | undefined {
    let packet: RadiusPacket;
    try {
      packet = decodePacket(datagram);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return undefined;
      throw error;
    }
    if (packet.code !== RadiusCode.AccessRequest) return undefined;
    const messageAuthenticator = verifyRequestMessageAuthenticator(packet, this.#secret);
    this.requests.push({
      from: { address: from.address, port: from.port },
      raw: packet.raw,
      packet,
      messageAuthenticator,
      attributes: describeAttributes(packet.attributes),
    });

    const faults = this.faults;
    if (faults.blackHole) return undefined;
    if (faults.dropRequests > 0) {
      faults.dropRequests--;
      return undefined;
    }
    // RFC 3579 §3.2: a request with an invalid Message-Authenticator is silently discarded.
    if (messageAuthenticator === 'invalid') return undefined;
    if (messageAuthenticator === 'absent' && faults.requireMessageAuthenticator) return undefined;
    if (faults.garbage) return Buffer.concat([Buffer.from([RadiusCode.AccessAccept, packet.identifier, 0, 20]), randomBytes(16)]);

    const { code, attributes } = this.#decide(packet);
    const secret = faults.wrongSecret ? `${this.#secret}-but-wrong` : this.#secret;
    const reply = encodeResponse({
      code,
      identifier: packet.identifier,
      requestAuthenticator: packet.authenticator,
      secret,
      attributes,
      messageAuthenticator: !faults.unsignedReplies || faults.badMessageAuthenticator,
    });
    if (faults.badMessageAuthenticator) {
      // Message-Authenticator is the first attribute: its value starts at octet 22.
      reply[22] = reply[22]! ^ 0xff;
      writeResponseAuthenticator(reply, packet.authenticator, secret);
    }
    return reply;
  }

  #decide(packet: RadiusPacket): { code: RadiusCode; attributes: RadiusAttribute[] } {
    const rejected = { code: RadiusCode.AccessReject, attributes: [encodeAttribute('Reply-Message', 'Authentication failed')] };
    const username = packet.attributes.find((a) => a.type === Attr.UserName)?.value.toString('utf8');
    const hidden = packet.attributes.find((a) => a.type === Attr.UserPassword)?.value;
    const user = username === undefined ? undefined : this.#users[username];
    if (!user || !hidden) return rejected;
    let password: Buffer;
    try {
      password = recoverPassword(hidden, this.#secret, packet.authenticator);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return rejected;
      throw error;
    }
    if (!password.equals(Buffer.from(user.password, 'utf8'))) return rejected;
    if (user.challenge !== undefined) {
      return {
        code: RadiusCode.AccessChallenge,
        attributes: [encodeAttribute('Reply-Message', user.challenge), encodeAttribute('State', `0x${randomBytes(8).toString('hex')}`)],
      };
    }
    return { code: RadiusCode.AccessAccept, attributes: (user.attributes ?? []).map(([name, value]) => encodeAttribute(name, value)) };
  }
}

async function bind(socket: Socket, host: string, port: number): Promise<void> {
  socket.bind(port, host);
  // Rejects with the socket's error (e.g. EADDRINUSE) instead of hanging.
  await once(socket, 'listening');
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}
