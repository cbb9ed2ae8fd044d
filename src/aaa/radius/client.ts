/**
 * A RADIUS client for one server (RFC 2865 over UDP, or RadSec): PAP Access-Requests with a Message-Authenticator,
 * the Access-Challenge round trip (State), Status-Server probes (RFC 5997), and the per-server BlastRADIUS policy
 * for replies that carry no Message-Authenticator. How packets travel is transport.ts's business.
 */
import { randomBytes, randomInt } from 'node:crypto';

import type { RadiusServer, RequireMessageAuthenticator } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { normaliseAttributes } from '../attributes.js';
import type { TlsMaterial } from '../tls.js';
import type { AaaServer, AuthRequest, ServerVerdict } from '../types.js';
import {
  AUTHENTICATOR_LENGTH,
  RadiusCode,
  RadiusEncodeError,
  describeAttributes,
  encodeAccessRequest,
  encodeAttribute,
  encodeStatusServer,
  verifyResponse,
  type RadiusAttribute,
  type RadiusPacket,
} from './codec.js';
import { Attr, ServiceType } from './dictionary.js';
import { RadiusTransport, type Check } from './transport.js';

export interface RadiusClientOptions {
  readonly server: RadiusServer;
  /** The shared secret for UDP; a RadSec server always uses "radsec". */
  readonly secret: string;
  /** Certificates; required when the server is RadSec. */
  readonly tls?: TlsMaterial;
  /** Local address requests are sent from. */
  readonly sourceAddress?: string;
  /** Wait for a reply this long after each (re)transmission. */
  readonly timeoutMs: number;
  /** Transmissions per login attempt, the first included (1 = no retransmission). */
  readonly retries: number;
  /** Replaces `timeoutMs` when answering a challenge: the user's answer may itself start a slow push approval. */
  readonly challengeTimeoutMs: number;
  readonly nasIdentifier: string;
  readonly nasIpAddress?: string;
  readonly logger: Logger;
}

/** Shown when an Access-Challenge has no Reply-Message: the user still needs some question to answer. */
export const DEFAULT_CHALLENGE_PROMPT = 'The RADIUS server asks for a further response (for example a one-time code)';

/** The reply codes that answer an Access-Request (RFC 2865 §4). */
type AnswerCode = typeof RadiusCode.AccessAccept | typeof RadiusCode.AccessReject | typeof RadiusCode.AccessChallenge;

interface Answer {
  readonly code: AnswerCode;
  readonly reply: RadiusPacket;
}

/** NAS-Identifier and, when configured, NAS-IP-Address: how the server recognises the gateway (RFC 2865 §5.4, §5.32). */
export function nasAttributes(nasIdentifier: string, nasIpAddress: string | undefined): RadiusAttribute[] {
  return [
    encodeAttribute('NAS-Identifier', nasIdentifier),
    ...(nasIpAddress === undefined ? [] : [encodeAttribute('NAS-IP-Address', nasIpAddress)]),
  ];
}

export class RadiusClient implements AaaServer {
  readonly name: string;
  readonly #options: RadiusClientOptions;
  readonly #transport: RadiusTransport;
  readonly #log: Logger;
  /** Encoded once, so a NAS-Identifier RADIUS cannot carry fails at start-up rather than at the first login. */
  readonly #nasAttributes: readonly RadiusAttribute[];
  readonly #requireSigned: RequireMessageAuthenticator;
  /**
   * `auto` policy state: this server has sent a signed answer, so it can sign, and an unsigned one claiming to be
   * from it is more likely forged than genuine. Kept for the life of the client, i.e. of the gateway process.
   */
  #signsReplies = false;
  #warnedUnsigned = false;

  constructor(options: RadiusClientOptions) {
    if (!Number.isInteger(options.retries) || options.retries < 1) throw new RangeError('retries must be an integer >= 1');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    if (!(options.challengeTimeoutMs > 0)) throw new RangeError('challengeTimeoutMs must be positive');
    this.#options = options;
    this.#transport = new RadiusTransport({
      server: options.server,
      secret: options.secret,
      sourceAddress: options.sourceAddress,
      tls: options.tls,
      logger: options.logger,
    });
    this.name = this.#transport.name;
    this.#log = options.logger.child({ server: this.name });
    this.#nasAttributes = nasAttributes(options.nasIdentifier, options.nasIpAddress);
    this.#requireSigned = options.server.requireMessageAuthenticator;
  }

  async verify(request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
    const authenticator = randomBytes(AUTHENTICATOR_LENGTH);
    const identifier = randomInt(256);
    // Encoding first: a password RADIUS cannot carry throws InvalidCredentials before any server is asked.
    const packet = encodeAccessRequest({
      identifier,
      authenticator,
      secret: this.#transport.secret,
      username: request.username,
      password: request.password,
      attributes: [
        ...this.#nasAttributes,
        // Login-User: an interactive login to a management application, not network access (Framed-User).
        // Server policies use it to tell administrative logins from VPN/802.1X ones, and it asks for no
        // privilege: Administrative-User and NAS-Prompt-User are what a server sends back to grant one.
        encodeAttribute('Service-Type', String(ServiceType.Login)),
        ...(request.clientAddress ? [encodeAttribute('Calling-Station-Id', request.clientAddress)] : []),
        // RFC 2865 §5.24: the State of the Access-Challenge goes back unmodified with the answer.
        ...(request.challenge ? [{ type: Attr.State, value: decodeState(request.challenge.state) }] : []),
      ],
    });
    const answer = await this.#transport.exchange(packet, {
      timeoutMs: request.challenge ? this.#options.challengeTimeoutMs : this.#options.timeoutMs,
      tries: this.#options.retries,
      signal,
      what: 'Access-Request',
      check: (reply) => this.#checkAnswer(reply, authenticator),
    });
    return this.#verdict(answer, request.username);
  }

  /**
   * RFC 5997 Status-Server: resolves when the server answers with an authentic Access-Accept, unsigned ones judged
   * by the same BlastRADIUS policy as login answers. Sent once, as RFC 5997 asks of Status-Server: the next
   * probe is a new packet.
   */
  async probe(signal: AbortSignal): Promise<void> {
    const authenticator = randomBytes(AUTHENTICATOR_LENGTH);
    const packet = encodeStatusServer({
      identifier: randomInt(256),
      authenticator,
      secret: this.#transport.secret,
      attributes: this.#nasAttributes,
    });
    await this.#transport.exchange(packet, {
      timeoutMs: this.#options.timeoutMs,
      tries: 1,
      signal,
      what: 'Status-Server',
      check: (reply) => this.#checkStatusReply(reply, authenticator),
    });
    this.#log.debug({}, 'RADIUS server answered Status-Server');
  }

  #checkAnswer(reply: RadiusPacket, authenticator: Buffer): Check<Answer> {
    const check = verifyResponse(reply, authenticator, this.#transport.secret);
    if (!check.ok) return { ok: false, problem: `${check.problem} does not verify (wrong shared secret?)` };
    const code = reply.code;
    if (code !== RadiusCode.AccessAccept && code !== RadiusCode.AccessReject && code !== RadiusCode.AccessChallenge) {
      return { ok: false, problem: `code ${code} is no answer to an Access-Request` };
    }
    const problem = this.#blastRadiusPolicy(check.messageAuthenticator, 'learn');
    return problem === undefined ? { ok: true, value: { code, reply } } : { ok: false, problem };
  }

  #checkStatusReply(reply: RadiusPacket, authenticator: Buffer): Check<void> {
    const check = verifyResponse(reply, authenticator, this.#transport.secret);
    if (!check.ok) return { ok: false, problem: `${check.problem} does not verify (wrong shared secret?)` };
    if (reply.code !== RadiusCode.AccessAccept) return { ok: false, problem: `code ${reply.code} does not answer a Status-Server` };
    // Not a lesson for `auto`: FreeRADIUS 3.2.1 signs neither kind of answer, but a server that signed only its
    // Status-Server answers would otherwise get all its unsigned login answers discarded.
    const problem = this.#blastRadiusPolicy(check.messageAuthenticator, 'do-not-learn');
    return problem === undefined ? { ok: true, value: undefined } : { ok: false, problem };
  }

  /**
   * BlastRADIUS (CVE-2024-3596): a man in the middle can turn an Access-Reject into an Access-Accept by an MD5
   * collision on the Response Authenticator, unless the reply carries a Message-Authenticator (HMAC-MD5, which
   * the collision does not survive). Returns why an authentic-looking reply is discarded, or undefined.
   */
  #blastRadiusPolicy(messageAuthenticator: 'valid' | 'absent', learning: 'learn' | 'do-not-learn'): string | undefined {
    // Over RadSec, TLS authenticates the server and protects every octet: there is nothing to forge.
    if (this.#transport.kind === 'radsec') return undefined;
    if (messageAuthenticator === 'valid') {
      if (learning === 'do-not-learn') return undefined;
      if (!this.#signsReplies && this.#requireSigned === 'auto') {
        this.#log.info({}, 'RADIUS server signs its replies; unsigned replies claiming to come from it are discarded from now on');
      }
      this.#signsReplies = true;
      return undefined;
    }
    switch (this.#requireSigned) {
      case 'no':
        this.#warnUnsigned('accepted');
        return undefined;
      case 'yes':
        this.#warnUnsigned('discarded');
        return 'discarded an unsigned reply (no Message-Authenticator) because RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR=true for this server';
      case 'auto':
        if (this.#signsReplies) {
          return 'discarded an unsigned reply from a server that signs its replies (RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR=auto): possibly forged (BlastRADIUS, CVE-2024-3596)';
        }
        this.#warnUnsigned('accepted');
        return undefined;
    }
  }

  /** Once per server: the condition is the server's configuration, not something one login can change. */
  #warnUnsigned(handling: 'accepted' | 'discarded'): void {
    if (this.#warnedUnsigned) return;
    this.#warnedUnsigned = true;
    this.#log.warn(
      { policy: this.#requireSigned, unsignedReplies: handling },
      'RADIUS server does not sign its replies (no Message-Authenticator): a man in the middle can forge an Access-Accept ' +
        '(BlastRADIUS, CVE-2024-3596). Upgrade the server so it signs every reply (FreeRADIUS 3.2.5 or later, with ' +
        'require_message_authenticator = yes and limit_proxy_state = yes for this client; Cisco ISE or Microsoft NPS with ' +
        'their July 2024 fixes and the Message-Authenticator requirement on) and set RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR=true, ' +
        'or reach it over RadSec (radsec://)',
    );
  }

  #verdict({ code, reply }: Answer, username: string): ServerVerdict {
    const described = describeAttributes(reply.attributes);
    switch (code) {
      case RadiusCode.AccessAccept: {
        const attributes = normaliseAttributes(described.map(([name, value]) => ({ name, value })));
        this.#log.debug({ user: username, attributes: attributes.toJSON() }, 'RADIUS Access-Accept');
        return { kind: 'accept', attributes };
      }
      case RadiusCode.AccessReject: {
        const message = replyMessage(described);
        this.#log.debug({ user: username }, 'RADIUS Access-Reject');
        return message === undefined ? { kind: 'reject' } : { kind: 'reject', message };
      }
      case RadiusCode.AccessChallenge: {
        const states = reply.attributes.filter((a) => a.type === Attr.State);
        // State is what ties the answer to this challenge on the server (RFC 2865 §5.24); without exactly one no
        // answer can succeed. It is still this server's verdict that a second factor is due: a reject, never a
        // reason to ask the next server, which might let the password alone through.
        if (states.length !== 1 || states[0]!.value.length === 0) {
          this.#log.warn({ user: username, states: states.length }, 'RADIUS Access-Challenge without exactly one State; login refused');
          return { kind: 'reject', message: `${this.name}: Access-Challenge with ${states.length} State attribute(s) instead of one` };
        }
        const prompt = replyMessage(described) ?? DEFAULT_CHALLENGE_PROMPT;
        this.#log.debug({ user: username }, 'RADIUS Access-Challenge');
        return { kind: 'challenge', prompt, state: states[0]!.value.toString('base64') };
      }
    }
  }
}

/** The State octets kept in the gateway session as base64 (they never left the gateway, but are checked anyway). */
function decodeState(state: string): Buffer {
  const octets = Buffer.from(state, 'base64');
  if (octets.length === 0 || octets.length > 253 || octets.toString('base64') !== state) {
    throw new RadiusEncodeError('the pending challenge State is not 1..253 octets in base64');
  }
  return octets;
}

function replyMessage(described: ReadonlyArray<[string, string]>): string | undefined {
  const lines = described.filter(([name]) => name === 'Reply-Message').map(([, value]) => value);
  // RFC 2865 §5.18: several Reply-Messages are shown in order, as one text.
  return lines.length > 0 ? lines.join('\n') : undefined;
}
