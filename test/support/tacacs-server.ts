/**
 * A small TACACS+ server on loopback TCP (and optionally TLS, RFC 9887) for tests and `npm run demo`, built on
 * the gateway's own codec (server-side half). It answers PAP, CHAP and ASCII logins, authorization and
 * accounting from a user table, records every request it decodes, and has switches for the faults a client must
 * survive. No test-framework imports: the demo runs it under plain Node.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

import {
  AcctStatus,
  AuthenReplyFlag,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  HEADER_LENGTH,
  HeaderFlag,
  PacketType,
  TacacsProtocolError,
  Version,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeHeader,
  decodePacket,
  encodeAcctReply,
  encodeAuthenReply,
  encodeAuthorReply,
  encodePacket,
  parseArgument,
  type AcctRequest,
  type AuthenContinue,
  type AuthenStart,
  type AuthorRequest,
  type TacacsHeader,
} from '../../src/aaa/tacacs/codec.js';

export interface TacacsTestAuthorization {
  readonly status: 'pass-add' | 'pass-repl' | 'fail' | 'error' | 'follow';
  /** As on the wire, e.g. `priv-lvl=15`, `shell:roles="netbox-admin netbox-ops"`, `role*netbox-ro`. */
  readonly args: readonly string[];
  readonly serverMsg?: string;
}

export interface TacacsTestUser {
  readonly password: string;
  /** The authorization answer; absent: PASS_ADD without arguments ("approved, nothing to add", §6.2). */
  readonly authorization?: TacacsTestAuthorization;
  /** The CHAP secret when it is not the password. */
  readonly chapSecret?: string;
}

export interface TacacsTestFaults {
  /** Obfuscate replies with another key, as a server configured with the wrong key does. */
  wrongKey: boolean;
  /** Answer with a right header (type, session, seq) and a random body. */
  garbage: boolean;
  /** Read the request, then close the connection without answering. */
  closeMidExchange: boolean;
  /** Answer in the clear with the unencrypted flag set. */
  unencryptedReply: boolean;
  /** Accept connections and requests, never answer. */
  blackHole: boolean;
  /** Answer every authentication START with this status instead of judging the password. */
  authenticationStatus: 'error' | 'restart' | 'follow' | 'getdata' | undefined;
  /** Answer every accounting REQUEST with ERROR. */
  accountingError: boolean;
  /** ASCII: ask GETUSER even when the START names the user (servers that ignore it do). */
  promptForUser: boolean;
  /** ASCII: after a wrong password ask GETPASS again (a login prompt with retries) instead of FAIL. */
  promptAgain: boolean;
  /** Over TLS: answer with the unencrypted flag clear (and the body obfuscated), against RFC 9887 §4. */
  obfuscatedOverTls: boolean;
  /** Answer with this header field wrong (the body still obfuscated to match the header sent). */
  mismatchedReply: 'seq_no' | 'session_id' | 'type' | 'version' | undefined;
}

export interface Peer {
  readonly address: string;
  readonly port: number;
  /** CN of the client certificate presented over TLS, if any. */
  readonly certificate?: string;
}

export interface Received<T> {
  readonly peer: Peer;
  readonly header: TacacsHeader;
  readonly body: T;
}

export interface ReceivedAccounting extends Received<AcctRequest> {
  /** The record's arguments by name (`task_id`, `start_time`, …); a repeated name keeps its last value. */
  readonly args: Readonly<Record<string, string>>;
}

export interface TacacsTestServerOptions {
  /** Obfuscation key for plain TCP; unused over TLS. */
  readonly key: string;
  readonly users: Readonly<Record<string, TacacsTestUser>>;
  readonly faults?: Partial<TacacsTestFaults>;
}

export interface TacacsTestListen {
  readonly host: string;
  readonly port: number;
  /** PEM; with it the server speaks RFC 9887 TLS 1.3 only. `requestCert` also rejects clients without a valid one. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly ca?: string | Buffer; readonly requestCert?: boolean };
}

export interface RunningTacacsTestServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const NO_FAULTS: TacacsTestFaults = {
  wrongKey: false,
  garbage: false,
  closeMidExchange: false,
  unencryptedReply: false,
  blackHole: false,
  authenticationStatus: undefined,
  accountingError: false,
  promptForUser: false,
  promptAgain: false,
  obfuscatedOverTls: false,
  mismatchedReply: undefined,
};

const FORCED_AUTHEN_STATUS = {
  error: AuthenStatus.Error,
  restart: AuthenStatus.Restart,
  follow: AuthenStatus.Follow,
  getdata: AuthenStatus.GetData,
} as const;

const AUTHOR_STATUS = {
  'pass-add': AuthorStatus.PassAdd,
  'pass-repl': AuthorStatus.PassRepl,
  fail: AuthorStatus.Fail,
  error: AuthorStatus.Error,
  follow: AuthorStatus.Follow,
} as const;

/** What one connection's session has learnt so far (one session per connection: no single-connect). */
interface SessionState {
  start?: AuthenStart;
  user?: string;
}

interface Reply {
  readonly body: Buffer;
  /** The session is over: close after sending (RFC 8907 §4.4). */
  readonly final: boolean;
}

export class TacacsTestServer {
  /** Change at any time; applies to the next packet. */
  readonly faults: TacacsTestFaults;
  readonly authentications: Array<Received<AuthenStart | AuthenContinue>> = [];
  readonly authorizations: Array<Received<AuthorRequest>> = [];
  readonly accounting: ReceivedAccounting[] = [];
  /** Packets whose body did not decode (a client with the wrong key) or that were dropped, and why. */
  readonly refused: Array<Received<string>> = [];
  readonly #key: string;
  readonly #users: Readonly<Record<string, TacacsTestUser>>;

  constructor(options: TacacsTestServerOptions) {
    this.#key = options.key;
    this.#users = options.users;
    this.faults = { ...NO_FAULTS, ...options.faults };
  }

  async start(listen: TacacsTestListen): Promise<RunningTacacsTestServer> {
    const sockets = new Set<Socket>();
    const tls = listen.tls;
    const track = (socket: Socket): void => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    };
    let server: Server;
    if (tls) {
      server = createTlsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          requestCert: tls.requestCert ?? false,
          rejectUnauthorized: tls.requestCert ?? false,
          minVersion: 'TLSv1.3',
        },
        (socket: TLSSocket) => {
          track(socket);
          const cn = socket.getPeerCertificate().subject?.CN;
          this.#serve(socket, true, typeof cn === 'string' ? cn : undefined);
        },
      );
      // Handshake failures (a client refusing our certificate) arrive here, not on a connection handler.
      server.on('connection', track);
      server.on('tlsClientError', () => {});
    } else {
      server = createTcpServer((socket) => {
        track(socket);
        this.#serve(socket, false, undefined);
      });
    }
    server.listen(listen.port, listen.host);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the TACACS+ test server has no TCP address');
    return {
      host: listen.host,
      port: address.port,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  #serve(socket: Socket, tls: boolean, certificate: string | undefined): void {
    const peer: Peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, ...(certificate === undefined ? {} : { certificate }) };
    const state: SessionState = {};
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= HEADER_LENGTH && !socket.destroyed) {
        let header: TacacsHeader;
        try {
          header = decodeHeader(buffered);
        } catch (error) {
          if (!(error instanceof TacacsProtocolError)) throw error;
          socket.destroy();
          return;
        }
        if (buffered.length < HEADER_LENGTH + header.length) return;
        const packet = buffered.subarray(0, HEADER_LENGTH + header.length);
        buffered = buffered.subarray(HEADER_LENGTH + header.length);
        this.#packet(socket, packet, header, tls, peer, state);
      }
    });
  }

  #packet(socket: Socket, packet: Buffer, header: TacacsHeader, tls: boolean, peer: Peer, state: SessionState): void {
    const unencrypted = (header.flags & HeaderFlag.Unencrypted) !== 0;
    if (!tls && unencrypted) {
      // RFC 8907 §4.5: "A request MUST be dropped if TAC_PLUS_UNENCRYPTED_FLAG is set to true."
      this.refused.push({ peer, header, body: 'unencrypted request over plain TCP' });
      socket.destroy();
      return;
    }
    if (tls && !unencrypted) {
      // RFC 9887 §4: answer ERROR with the flag set and terminate the session.
      this.refused.push({ peer, header, body: 'obfuscated request over TLS' });
      this.#send(socket, header, { body: errorBody(header), final: true }, tls);
      return;
    }
    let reply: Reply;
    try {
      reply = this.#answer(decodePacket(packet, this.#key).body, header, peer, state);
    } catch (error) {
      if (!(error instanceof TacacsProtocolError)) throw error;
      // A body that does not decode means, above all, a client with another key. RFC 8907 §3.6's error reply
      // (same header, seq_no + 1, empty body) tells it so without a status byte that a client de-obfuscating with
      // its wrong key could misread as a PASS, which any obfuscated ERROR (RFC 8907 §4.5) risks 1 time in 256.
      this.refused.push({ peer, header, body: error.message });
      this.#sendRaw(socket, encodePacket({ ...header, seqNo: header.seqNo + 1 }, Buffer.alloc(0), this.#key), true);
      return;
    }
    const faults = this.faults;
    if (faults.blackHole) return;
    if (faults.closeMidExchange) {
      socket.destroy();
      return;
    }
    if (faults.garbage) {
      const flags = tls ? HeaderFlag.Unencrypted : 0;
      const garbage = encodePacket({ ...header, seqNo: header.seqNo + 1, flags }, randomBytes(randomInt(6, 40)), this.#key);
      this.#sendRaw(socket, garbage, true);
      return;
    }
    this.#send(socket, header, reply, tls);
  }

  #send(socket: Socket, request: TacacsHeader, reply: Reply, tls: boolean): void {
    const clear = tls ? !this.faults.obfuscatedOverTls : this.faults.unencryptedReply;
    const key = this.faults.wrongKey ? `${this.#key}-but-wrong` : this.#key;
    const header = { ...request, seqNo: request.seqNo + 1, flags: clear ? HeaderFlag.Unencrypted : 0 };
    this.#sendRaw(socket, encodePacket(mismatch(header, this.faults.mismatchedReply), reply.body, key), reply.final);
  }

  #sendRaw(socket: Socket, packet: Buffer, final: boolean): void {
    if (final) socket.end(packet);
    else socket.write(packet);
  }

  #answer(body: Buffer, header: TacacsHeader, peer: Peer, state: SessionState): Reply {
    switch (header.type) {
      case PacketType.Authentication:
        return header.seqNo === 1 ? this.#start(decodeAuthenStart(body), header, peer, state) : this.#continue(decodeAuthenContinue(body), header, peer, state);
      case PacketType.Authorization: {
        const request = decodeAuthorRequest(body);
        this.authorizations.push({ peer, header, body: request });
        const policy = this.#users[request.user]?.authorization ?? { status: 'pass-add', args: [] };
        const known = this.#users[request.user] !== undefined;
        const reply = known
          ? { status: AUTHOR_STATUS[policy.status], args: policy.status.startsWith('pass') ? policy.args : [], ...(policy.serverMsg ? { serverMsg: policy.serverMsg } : {}) }
          : { status: AuthorStatus.Fail, serverMsg: 'Unknown user' };
        return { body: encodeAuthorReply(reply), final: true };
      }
      case PacketType.Accounting: {
        const request = decodeAcctRequest(body);
        const args = Object.fromEntries(request.args.map((a) => parseArgument(a)).map((a) => [a.name, a.value]));
        this.accounting.push({ peer, header, body: request, args });
        const status = this.faults.accountingError ? AcctStatus.Error : AcctStatus.Success;
        return { body: encodeAcctReply({ status }), final: true };
      }
    }
  }

  #start(start: AuthenStart, header: TacacsHeader, peer: Peer, state: SessionState): Reply {
    this.authentications.push({ peer, header, body: start });
    state.start = start;
    const forced = this.faults.authenticationStatus;
    if (forced !== undefined) return authenReply(FORCED_AUTHEN_STATUS[forced], `Simulated ${forced.toUpperCase()}`);
    // RFC 8907 §5.4.1: PAP and CHAP use minor version 1, ASCII minor version 0.
    const expectedVersion = start.authenType === AuthenType.Ascii ? Version.Default : Version.One;
    if (header.version !== expectedVersion) return authenReply(AuthenStatus.Error, `Wrong minor version for authen_type ${start.authenType}`);
    const user = this.#users[start.user];
    switch (start.authenType) {
      case AuthenType.Pap:
        return verdict(user !== undefined && equalText(Buffer.from(start.data), user.password));
      case AuthenType.Chap:
        return verdict(user !== undefined && chapMatches(Buffer.from(start.data), user.chapSecret ?? user.password));
      case AuthenType.Ascii:
        if (start.user === '' || this.faults.promptForUser) return authenReply(AuthenStatus.GetUser, 'Username: ', false);
        state.user = start.user;
        return authenReply(AuthenStatus.GetPass, 'Password: ', false, AuthenReplyFlag.NoEcho);
      default:
        // §5.4.2: a server that does not implement an option MUST answer FAIL.
        return verdict(false);
    }
  }

  #continue(cont: AuthenContinue, header: TacacsHeader, peer: Peer, state: SessionState): Reply {
    this.authentications.push({ peer, header, body: cont });
    if (state.start?.authenType !== AuthenType.Ascii) return authenReply(AuthenStatus.Error, 'CONTINUE outside an ASCII login');
    if (state.user === undefined) {
      state.user = cont.userMsg;
      return authenReply(AuthenStatus.GetPass, 'Password: ', false, AuthenReplyFlag.NoEcho);
    }
    const user = this.#users[state.user];
    const pass = user !== undefined && equalText(Buffer.from(cont.userMsg, 'utf8'), user.password);
    if (!pass && this.faults.promptAgain) return authenReply(AuthenStatus.GetPass, 'Password incorrect, try again: ', false, AuthenReplyFlag.NoEcho);
    return verdict(pass);
  }
}

function mismatch(header: Omit<TacacsHeader, 'length'>, field: TacacsTestFaults['mismatchedReply']): Omit<TacacsHeader, 'length'> {
  switch (field) {
    case undefined:
      return header;
    case 'seq_no':
      return { ...header, seqNo: header.seqNo + 2 };
    case 'session_id':
      return { ...header, sessionId: (header.sessionId ^ 1) >>> 0 };
    case 'type':
      return { ...header, type: header.type === PacketType.Authentication ? PacketType.Authorization : PacketType.Authentication };
    case 'version':
      return { ...header, version: header.version ^ 1 };
  }
}

function authenReply(status: AuthenStatus, serverMsg: string, final = true, flags = 0): Reply {
  return { body: encodeAuthenReply({ status, serverMsg, flags }), final };
}

function verdict(pass: boolean): Reply {
  return pass ? authenReply(AuthenStatus.Pass, '') : authenReply(AuthenStatus.Fail, 'Authentication failed');
}

/** The ERROR reply of the request's own type, for a request we refuse outright. */
function errorBody(header: TacacsHeader): Buffer {
  switch (header.type) {
    case PacketType.Authentication:
      return encodeAuthenReply({ status: AuthenStatus.Error, serverMsg: 'Obfuscation over TLS' });
    case PacketType.Authorization:
      return encodeAuthorReply({ status: AuthorStatus.Error, serverMsg: 'Obfuscation over TLS' });
    case PacketType.Accounting:
      return encodeAcctReply({ status: AcctStatus.Error, serverMsg: 'Obfuscation over TLS' });
  }
}

function equalText(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected, 'utf8');
  return given.length === want.length && timingSafeEqual(given, want);
}

/** RFC 8907 §5.4.2.3: data = PPP id (1) ‖ challenge ‖ MD5(id ‖ secret ‖ challenge) (16). */
function chapMatches(data: Buffer, secret: string): boolean {
  if (data.length < 1 + 1 + 16) return false;
  const id = data.subarray(0, 1);
  const challenge = data.subarray(1, data.length - 16);
  const expected = createHash('md5').update(id).update(secret, 'utf8').update(challenge).digest();
  return timingSafeEqual(expected, data.subarray(data.length - 16));
}
