/**
 * A RADIUS client for one server (RFC 2865 over UDP). One connected UDP socket per login attempt:
 * - the kernel then delivers only datagrams from the server's address and port, and reports an ICMP port
 *   unreachable as ECONNREFUSED, so a server that is down fails in milliseconds instead of a timeout;
 * - the Identifier space is private to the attempt, so any random Identifier is free.
 * Status-Server, accounting and RadSec are later additions; they would reuse `#exchange` with another packet.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import type { HostPort } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { AttributeBag } from '../attributes.js';
import { ServerTrouble, serverName, type AaaServer, type AuthRequest, type ServerVerdict } from '../types.js';
import {
  AUTHENTICATOR_LENGTH,
  RadiusCode,
  RadiusDecodeError,
  decodePacket,
  describeAttributes,
  encodeAccessRequest,
  encodeAttribute,
  verifyResponse,
  type RadiusAttribute,
  type RadiusPacket,
} from './codec.js';
import { ServiceType } from './dictionary.js';

export interface RadiusClientOptions {
  readonly server: HostPort;
  readonly secret: string;
  /** Wait for a reply this long after each (re)transmission. */
  readonly timeoutMs: number;
  /** Transmissions per login attempt, the first included (1 = no retransmission). */
  readonly retries: number;
  readonly nasIdentifier: string;
  /**
   * Discard replies that carry no Message-Authenticator (BlastRADIUS hardening). Off by default because
   * servers without the 2024 fixes, such as Debian 12's FreeRADIUS 3.2.1, do not sign their replies.
   */
  readonly requireMessageAuthenticator?: boolean;
  readonly logger: Logger;
}

/** What the user sees when the server wants a second step; Access-Challenge support is a later addition. */
export const CHALLENGE_NOT_SUPPORTED =
  'The RADIUS server asked for an additional step (Access-Challenge, e.g. a one-time code), which this gateway does not support yet';

/** The reply codes that answer an Access-Request (RFC 2865 §4). */
type AnswerCode = typeof RadiusCode.AccessAccept | typeof RadiusCode.AccessReject | typeof RadiusCode.AccessChallenge;

interface Answer {
  readonly code: AnswerCode;
  readonly reply: RadiusPacket;
}

interface Target {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

export class RadiusClient implements AaaServer {
  readonly name: string;
  readonly #options: RadiusClientOptions;
  readonly #log: Logger;
  /** Encoded once, so a NAS-Identifier RADIUS cannot carry fails at start-up rather than at the first login. */
  readonly #fixedAttributes: readonly RadiusAttribute[];

  constructor(options: RadiusClientOptions) {
    if (!Number.isInteger(options.retries) || options.retries < 1) throw new RangeError('retries must be an integer >= 1');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#options = options;
    this.name = serverName(options.server);
    this.#log = options.logger.child({ server: this.name });
    this.#fixedAttributes = [
      encodeAttribute('NAS-Identifier', options.nasIdentifier),
      // Login-User: an interactive login to a management application, not network access (Framed-User).
      // Server policies use it to tell administrative logins from VPN/802.1X ones, and it asks for no
      // privilege: Administrative-User and NAS-Prompt-User are what a server sends back to grant one.
      encodeAttribute('Service-Type', String(ServiceType.Login)),
    ];
  }

  async verify(request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
    const authenticator = randomBytes(AUTHENTICATOR_LENGTH);
    const identifier = randomInt(256);
    // Encoding first: a password RADIUS cannot carry throws InvalidCredentials before any server is asked.
    const packet = encodeAccessRequest({
      identifier,
      authenticator,
      secret: this.#options.secret,
      username: request.username,
      password: request.password,
      attributes: [
        ...this.#fixedAttributes,
        ...(request.clientAddress ? [encodeAttribute('Calling-Station-Id', request.clientAddress)] : []),
      ],
    });
    const answer = await this.#exchange(packet, identifier, authenticator, signal);
    return this.#verdict(answer, request.username);
  }

  #verdict({ code, reply }: Answer, username: string): ServerVerdict {
    const described = describeAttributes(reply.attributes);
    switch (code) {
      case RadiusCode.AccessAccept: {
        const attributes = new AttributeBag();
        for (const [name, value] of described) attributes.add(name, value);
        this.#log.debug({ user: username, attributes: attributes.toJSON() }, 'RADIUS Access-Accept');
        return { kind: 'accept', attributes };
      }
      case RadiusCode.AccessReject: {
        const message = replyMessage(described);
        this.#log.debug({ user: username }, 'RADIUS Access-Reject');
        return message === undefined ? { kind: 'reject' } : { kind: 'reject', message };
      }
      case RadiusCode.AccessChallenge:
        // Treated as a reject: the server has not said yes, and asking another server instead would bypass
        // the second factor it wants.
        this.#log.warn({ user: username, replyMessage: replyMessage(described) }, 'RADIUS Access-Challenge is not supported; login refused');
        return { kind: 'reject', message: CHALLENGE_NOT_SUPPORTED };
    }
  }

  /**
   * Sends `packet` up to `retries` times (the same octets each time, RFC 5080 §2.2.1) and resolves with the
   * first reply that passes every check. Everything else is logged and ignored, as if never received.
   */
  #exchange(packet: Buffer, identifier: number, authenticator: Buffer, signal: AbortSignal): Promise<Answer> {
    const { timeoutMs, retries } = this.#options;
    return new Promise<Answer>((resolve, reject) => {
      let socket: Socket | undefined;
      let timer: NodeJS.Timeout | undefined;
      let transmissions = 0;
      let badReplies = 0;
      let settled = false;

      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket?.close();
        settle();
      };
      const fail = (error: ServerTrouble): void => finish(() => reject(error));
      const onAbort = (): void =>
        fail(new ServerTrouble('deadline', `${this.name}: login deadline reached after ${transmissions} transmission(s)`, { cause: signal.reason }));

      const transmit = (target: Target): void => {
        transmissions++;
        this.#log.debug({ identifier, transmission: transmissions, of: retries }, 'RADIUS Access-Request sent');
        socket?.send(packet, (error) => {
          if (error) fail(socketTrouble(this.name, error));
        });
        timer = setTimeout(() => {
          if (transmissions < retries) transmit(target);
          else if (badReplies > 0) {
            fail(new ServerTrouble('bad-reply', `${this.name}: no valid reply in ${retries} × ${timeoutMs} ms, ${badReplies} ignored (wrong shared secret?)`));
          } else fail(new ServerTrouble('timeout', `${this.name}: no reply in ${retries} × ${timeoutMs} ms`));
        }, timeoutMs);
      };

      const onMessage = (datagram: Buffer, from: RemoteInfo, target: Target): void => {
        const result = this.#check(datagram, from, target, identifier, authenticator);
        if (typeof result === 'string') {
          badReplies++;
          this.#log.warn({ identifier, from: `${from.address}:${from.port}`, problem: result }, 'RADIUS reply ignored');
          return;
        }
        finish(() => resolve(result));
      };

      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      resolveTarget(this.#options.server).then(
        (target) => {
          if (settled) return;
          const udp = createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' });
          socket = udp;
          udp.on('error', (error) => fail(socketTrouble(this.name, error)));
          udp.on('message', (datagram, from) => onMessage(datagram, from, target));
          udp.connect(target.port, target.address, () => transmit(target));
        },
        (error: unknown) => fail(new ServerTrouble('network', `${this.name}: cannot resolve ${this.#options.server.host}`, { cause: error })),
      );
    });
  }

  /** A reply we can act on, or why this datagram is ignored. */
  #check(datagram: Buffer, from: RemoteInfo, target: Target, identifier: number, authenticator: Buffer): string | Answer {
    // The connected socket already filters by source; this stays true should the socket ever be shared.
    if (from.address !== target.address || from.port !== target.port) return 'unexpected source address';
    let reply: RadiusPacket;
    try {
      reply = decodePacket(datagram);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return `undecodable: ${error.message}`;
      throw error;
    }
    if (reply.identifier !== identifier) return `Identifier ${reply.identifier} does not match ${identifier}`;
    const check = verifyResponse(reply, authenticator, this.#options.secret);
    if (!check.ok) return `${check.problem} does not verify (wrong shared secret?)`;
    if (check.messageAuthenticator === 'absent' && this.#options.requireMessageAuthenticator) {
      return 'no Message-Authenticator, which this server is configured to require';
    }
    const code = reply.code;
    if (code !== RadiusCode.AccessAccept && code !== RadiusCode.AccessReject && code !== RadiusCode.AccessChallenge) {
      return `code ${code} is no answer to an Access-Request`;
    }
    return { code, reply };
  }
}

function replyMessage(described: ReadonlyArray<[string, string]>): string | undefined {
  const lines = described.filter(([name]) => name === 'Reply-Message').map(([, value]) => value);
  // RFC 2865 §5.18: several Reply-Messages are shown in order, as one text.
  return lines.length > 0 ? lines.join('\n') : undefined;
}

async function resolveTarget(server: HostPort): Promise<Target> {
  const family = isIP(server.host);
  if (family === 4 || family === 6) return { address: server.host, family, port: server.port };
  const resolved = await lookup(server.host);
  return { address: resolved.address, family: resolved.family === 6 ? 6 : 4, port: server.port };
}

function socketTrouble(name: string, error: Error): ServerTrouble {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return new ServerTrouble('refused', `${name}: port unreachable (nothing listens there)`, { cause: error });
  return new ServerTrouble('network', `${name}: ${error.message}`, { cause: error });
}
