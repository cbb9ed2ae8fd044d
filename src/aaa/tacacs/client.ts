/**
 * A TACACS+ client for one server (RFC 8907, RFC 9887): authentication (PAP, ASCII login or CHAP), then
 * authorization when configured, each a session on its own connection. Outcomes follow the README checklist:
 * FAIL (and RESTART, FOLLOW, a reply without obfuscation) is a definitive reject; ERROR and anything undecodable
 * is ServerTrouble, so the failover chain asks the next server.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { TacacsAuthType } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { AttributeBag } from '../attributes.js';
import { InvalidCredentials, ServerTrouble, type AaaServer, type AuthRequest, type ServerVerdict } from '../types.js';
import { HANDLED_MANDATORY_ARGUMENTS, authorizationArguments, interpretArguments } from './authorization.js';
import {
  AuthenAction,
  AuthenMethod,
  AuthenService,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  PacketType,
  PrivLevel,
  Version,
  decodeAuthenReply,
  decodeAuthorReply,
  encodeAuthenContinue,
  encodeAuthenStart,
  encodeAuthorRequest,
  type AuthenReply,
} from './codec.js';
import { withSession, type SessionReply, type TacacsSession } from './session.js';
import { TacacsConnection, type Endpoint, type StepOptions } from './transport.js';

export interface TacacsClientOptions {
  readonly endpoint: Endpoint;
  /** Per step: connect (with the TLS handshake), and each wait for a reply. */
  readonly timeoutMs: number;
  readonly authType: TacacsAuthType;
  readonly service: string;
  readonly portName: string;
  readonly authorization: boolean;
  /** Mandatory authorization arguments the gateway acts on (case-insensitive); default HANDLED_MANDATORY_ARGUMENTS. */
  readonly handledMandatoryArguments?: readonly string[];
  readonly logger: Logger;
}

export const UNENCRYPTED_REPLY_REFUSED =
  'The TACACS+ server answered without obfuscation although a shared key is configured; sign-in refused';
export const AUTHORIZATION_REFUSED = 'The TACACS+ server refused authorization for this account';
export const FOLLOW_REFUSED = 'The TACACS+ server redirected the sign-in to another server (FOLLOW), which this gateway does not follow';
export const ADDITIONAL_INPUT_REFUSED =
  'The TACACS+ server asked for additional input (e.g. a one-time code), which this gateway does not support yet';

/**
 * The header version and the wire code per method (§5.4.1), and the longest password the START (PAP: one octet
 * data_len) or CONTINUE (ASCII: two octets user_msg_len) can carry; CHAP sends a hash, never the password.
 */
export const AUTHEN_METHODS = {
  pap: { authenType: AuthenType.Pap, version: Version.One, maxPasswordBytes: 0xff },
  ascii: { authenType: AuthenType.Ascii, version: Version.Default, maxPasswordBytes: 0xffff },
  chap: { authenType: AuthenType.Chap, version: Version.One, maxPasswordBytes: Number.POSITIVE_INFINITY },
} as const;

type Authentication = { readonly kind: 'pass' } | { readonly kind: 'reject'; readonly message?: string };

export class TacacsClient implements AaaServer {
  readonly name: string;
  readonly #options: TacacsClientOptions;
  readonly #method: (typeof AUTHEN_METHODS)[TacacsAuthType];
  readonly #handled: ReadonlySet<string>;
  readonly #log: Logger;

  constructor(options: TacacsClientOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#options = options;
    this.name = options.endpoint.name;
    this.#method = AUTHEN_METHODS[options.authType];
    this.#handled = new Set((options.handledMandatoryArguments ?? HANDLED_MANDATORY_ARGUMENTS).map((n) => n.toLowerCase()));
    this.#log = options.logger.child({ server: this.name });
  }

  async verify(request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
    this.#checkCarriable(request);
    const step: StepOptions = { timeoutMs: this.#options.timeoutMs, signal, logger: this.#log };
    const authentication = await withSession(
      this.#options.endpoint,
      { type: PacketType.Authentication, version: this.#method.version },
      step,
      (session) => this.#authenticate(session, request),
    );
    if (authentication.kind === 'reject') return authentication;
    if (!this.#options.authorization) return { kind: 'accept', attributes: new AttributeBag() };
    return withSession(this.#options.endpoint, { type: PacketType.Authorization, version: Version.Default }, step, (session) =>
      this.#authorize(session, request),
    );
  }

  /**
   * A connect (over TLS, the whole handshake with the server certificate checked) closed at once, without a
   * session: TACACS+ has no no-op request, and every session would be logged by the server as a failed login.
   */
  async probe(signal: AbortSignal): Promise<void> {
    const connection = await TacacsConnection.open(this.#options.endpoint, { timeoutMs: this.#options.timeoutMs, signal, logger: this.#log });
    connection.close();
  }

  /** Refuses, before any server is asked, input TACACS+ cannot carry: no later server could carry it either. */
  #checkCarriable({ username, password }: AuthRequest): void {
    const userBytes = Buffer.byteLength(username, 'utf8');
    if (userBytes === 0 || userBytes > 0xff) throw new InvalidCredentials('A TACACS+ user name is 1 to 255 bytes long');
    if (Buffer.byteLength(password, 'utf8') > this.#method.maxPasswordBytes) {
      throw new InvalidCredentials(`A TACACS+ ${this.#options.authType.toUpperCase()} password is at most ${this.#method.maxPasswordBytes} bytes long`);
    }
  }

  async #authenticate(session: TacacsSession, request: AuthRequest): Promise<Authentication> {
    const start = encodeAuthenStart({
      action: AuthenAction.Login,
      // We ask for no privilege while authenticating: levels come from authorization (priv-lvl) and role mapping.
      privLvl: PrivLevel.User,
      authenType: this.#method.authenType,
      authenService: AuthenService.Login,
      user: request.username,
      port: this.#options.portName,
      remAddr: request.clientAddress,
      data: this.#startData(request.password),
    });
    let answer: SessionReply<AuthenReply> = await session.exchange(start, decodeAuthenReply);
    const answered = new Set<number>();
    for (;;) {
      if (answer.kind === 'unencrypted') return this.#unencrypted(request.username, 'authentication');
      const { status, serverMsg } = answer.reply;
      switch (status) {
        case AuthenStatus.Pass:
          this.#log.debug({ user: request.username }, 'TACACS+ authentication PASS');
          return { kind: 'pass' };
        case AuthenStatus.Fail:
          return serverMsg ? { kind: 'reject', message: serverMsg } : { kind: 'reject' };
        case AuthenStatus.Error:
          throw new ServerTrouble('server-error', `${this.name}: authentication ERROR${serverMsg ? `: ${serverMsg}` : ''}`);
        case AuthenStatus.Restart:
          // §5.4.3: a client that does not implement RESTART MUST process it as FAIL.
          this.#log.warn({ user: request.username, authType: this.#options.authType }, 'TACACS+ server wants another authentication type (RESTART)');
          return { kind: 'reject', message: `The TACACS+ server does not accept ${this.#options.authType.toUpperCase()} sign-in for this account` };
        case AuthenStatus.Follow:
          // §5.4.3: FOLLOW is deprecated as insecure; the client should treat it as FAIL.
          return { kind: 'reject', message: FOLLOW_REFUSED };
        case AuthenStatus.GetUser:
        case AuthenStatus.GetPass:
        case AuthenStatus.GetData: {
          if (this.#options.authType !== 'ascii') {
            // §5.4.2.2 and §5.4.2.3: the REPLY to a PAP or CHAP START MUST be PASS, FAIL or ERROR.
            throw new ServerTrouble('bad-reply', `${this.name}: asked for more input (status ${status}) in a ${this.#options.authType.toUpperCase()} login`);
          }
          if (status === AuthenStatus.GetData) return { kind: 'reject', message: ADDITIONAL_INPUT_REFUSED };
          // A second prompt for what we already sent means it was not accepted; sending the same again would
          // only count twice against the account's lockout.
          if (answered.has(status)) {
            this.#log.info({ user: request.username, status }, 'TACACS+ server prompted again for an answer already given; login refused');
            return { kind: 'reject' };
          }
          answered.add(status);
          const userMsg = status === AuthenStatus.GetUser ? request.username : request.password;
          answer = await session.exchange(encodeAuthenContinue({ userMsg, data: Buffer.alloc(0), flags: 0 }), decodeAuthenReply);
        }
      }
    }
  }

  #startData(password: string): Buffer {
    switch (this.#options.authType) {
      case 'pap':
        return Buffer.from(password, 'utf8');
      case 'ascii':
        // §5.4.2.1: the password goes in a CONTINUE, answering GETPASS.
        return Buffer.alloc(0);
      case 'chap': {
        // §5.4.2.3 and RFC 1994 §4.1: PPP id, challenge, MD5(id ‖ secret ‖ challenge). 16 challenge bytes is
        // twice the minimum §5.4.2.3 recommends.
        const id = randomBytes(1);
        const challenge = randomBytes(16);
        const response = createHash('md5').update(id).update(password, 'utf8').update(challenge).digest();
        return Buffer.concat([id, challenge, response]);
      }
    }
  }

  async #authorize(session: TacacsSession, request: AuthRequest): Promise<ServerVerdict> {
    const body = encodeAuthorRequest({
      authenMethod: AuthenMethod.TacacsPlus,
      privLvl: PrivLevel.User,
      authenType: this.#method.authenType,
      authenService: AuthenService.Login,
      user: request.username,
      port: this.#options.portName,
      remAddr: request.clientAddress,
      args: authorizationArguments(this.#options.service),
    });
    const answer = await session.exchange(body, decodeAuthorReply);
    if (answer.kind === 'unencrypted') return this.#unencrypted(request.username, 'authorization');
    const { status, serverMsg, args } = answer.reply;
    const user = request.username;
    switch (status) {
      case AuthorStatus.PassAdd:
      case AuthorStatus.PassRepl: {
        // Read only now, from a reply whose lengths added up under our key: what an argument says is the
        // server's answer, so one the gateway cannot apply (or parse) fails the authorization, never the server.
        const outcome = interpretArguments(args, this.#handled);
        // PASS_ADD adds the reply's arguments to the requested ones and PASS_REPL replaces them; either way what
        // the server granted is the reply's arguments, and the request's `service`/`cmd` say nothing about roles.
        if (outcome.kind === 'unhandled') {
          this.#log.warn({ user, argument: outcome.argument }, 'TACACS+ authorization requires an argument the gateway cannot apply; login refused');
          return { kind: 'reject', stage: 'authorization', message: `${AUTHORIZATION_REFUSED}: it requires "${outcome.argument}", which this gateway cannot apply` };
        }
        if (outcome.disregarded.length > 0) this.#log.warn({ user, disregarded: outcome.disregarded }, 'TACACS+ optional arguments disregarded');
        this.#log.debug({ user, attributes: outcome.attributes.toJSON() }, 'TACACS+ authorization PASS');
        return { kind: 'accept', attributes: outcome.attributes };
      }
      case AuthorStatus.Fail:
        return { kind: 'reject', stage: 'authorization', message: serverMsg ? `${AUTHORIZATION_REFUSED}: ${serverMsg}` : AUTHORIZATION_REFUSED };
      case AuthorStatus.Error:
        throw new ServerTrouble('server-error', `${this.name}: authorization ERROR${serverMsg ? `: ${serverMsg}` : ''}`);
      case AuthorStatus.Follow:
        return { kind: 'reject', message: FOLLOW_REFUSED };
    }
  }

  /** RFC 8907 §10.5.2: close, and process it as FAIL — never as trouble, which would let the next server decide. */
  #unencrypted(user: string, step: string): { kind: 'reject'; message: string } {
    this.#log.warn({ user, step }, 'TACACS+ reply without obfuscation from a server configured with a key; treated as FAIL');
    return { kind: 'reject', message: UNENCRYPTED_REPLY_REFUSED };
  }
}
