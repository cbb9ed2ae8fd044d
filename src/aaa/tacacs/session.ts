/**
 * One TACACS+ session (RFC 8907 §3.5) on its own connection: a random session_id, odd seq_no out, and every
 * reply checked — type, session_id, seq_no exactly ours + 1, version, and the unencrypted flag — before its body
 * is even de-obfuscated.
 */
import { randomBytes } from 'node:crypto';

import { ServerTrouble } from '../types.js';
import {
  HeaderFlag,
  MAX_SEQ_NO,
  TacacsProtocolError,
  decodeHeader,
  decodePacket,
  encodePacket,
  type PacketType,
  type TacacsHeader,
} from './codec.js';
import { TacacsConnection, type Endpoint, type StepOptions } from './transport.js';

/**
 * A reply with the unencrypted flag from a server we share a key with (RFC 8907 §10.5.2). Its body is never
 * read: the caller closes and treats it as FAIL, so a downgrade cannot log anybody in.
 */
export type SessionReply<T> = { readonly kind: 'reply'; readonly reply: T } | { readonly kind: 'unencrypted' };

export interface SessionKind {
  readonly type: PacketType;
  readonly version: number;
}

/** Opens a connection, runs one session on it, and closes it whatever happens. */
export async function withSession<T>(endpoint: Endpoint, kind: SessionKind, options: StepOptions, run: (session: TacacsSession) => Promise<T>): Promise<T> {
  const connection = await TacacsConnection.open(endpoint, options);
  try {
    return await run(new TacacsSession(connection, endpoint, kind));
  } finally {
    connection.close();
  }
}

export class TacacsSession {
  // §4.1: from a cryptographically strong source, or sessions can be hijacked and pads predicted.
  readonly #sessionId = randomBytes(4).readUInt32BE(0);
  readonly #connection: TacacsConnection;
  readonly #endpoint: Endpoint;
  readonly #kind: SessionKind;
  #seqNo = 1;

  constructor(connection: TacacsConnection, endpoint: Endpoint, kind: SessionKind) {
    this.#connection = connection;
    this.#endpoint = endpoint;
    this.#kind = kind;
  }

  /** Sends `body` as the next client packet and decodes the server's reply with `decode`. */
  async exchange<T>(body: Buffer, decode: (body: Buffer) => T): Promise<SessionReply<T>> {
    const seqNo = this.#seqNo;
    // The reply to seq 255 would need 256, and seq_no never wraps (§4.1).
    if (seqNo + 1 > MAX_SEQ_NO) throw this.#bad(`the session would need seq_no ${seqNo + 1}`);
    this.#seqNo += 2;
    const tls = this.#endpoint.transport.kind === 'tls';
    const key = this.#endpoint.transport.kind === 'tcp' ? this.#endpoint.transport.key : undefined;
    // RFC 9887 §4: over TLS every packet carries the unencrypted flag and nothing is obfuscated.
    const flags = tls ? HeaderFlag.Unencrypted : 0;
    this.#connection.send(encodePacket({ ...this.#kind, seqNo, flags, sessionId: this.#sessionId }, body, key));
    const bytes = await this.#connection.receive();
    try {
      const header = decodeHeader(bytes);
      this.#check(header, seqNo + 1);
      if (!tls && (header.flags & HeaderFlag.Unencrypted) !== 0) return { kind: 'unencrypted' };
      return { kind: 'reply', reply: decode(decodePacket(bytes, key).body) };
    } catch (error) {
      if (error instanceof TacacsProtocolError) throw this.#bad(error.message, error);
      throw error;
    }
  }

  #check(header: TacacsHeader, seqNo: number): void {
    const { type, version } = this.#kind;
    if (header.type !== type) throw new TacacsProtocolError(`reply of type ${header.type} to a packet of type ${type}`);
    if (header.sessionId !== this.#sessionId) throw new TacacsProtocolError('reply for another session_id');
    if (header.seqNo !== seqNo) throw new TacacsProtocolError(`reply seq_no ${header.seqNo}, expected ${seqNo}`);
    if (header.version !== version) throw new TacacsProtocolError(`reply version 0x${header.version.toString(16)}, expected 0x${version.toString(16)}`);
    // RFC 9887 §4: a client MUST terminate the session on a TLS packet without the flag. The server is
    // authenticated by its certificate, so this is a broken server rather than a downgrade: move on to the next.
    if (this.#endpoint.transport.kind === 'tls' && (header.flags & HeaderFlag.Unencrypted) === 0) {
      throw new TacacsProtocolError('reply over TLS without the unencrypted flag (RFC 9887 §4)');
    }
  }

  #bad(problem: string, cause?: TacacsProtocolError): ServerTrouble {
    return new ServerTrouble('bad-reply', `${this.#endpoint.name}: ${problem}`, cause ? { cause } : undefined);
  }
}
