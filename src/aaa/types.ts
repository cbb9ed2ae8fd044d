import { isIP } from 'node:net';
import type { HostPort } from '../config/types.js';
import type { AttributeBag } from './attributes.js';

/** One sign-in attempt as the AAA layer sees it: no HTTP, no NetBox. */
export interface AuthRequest {
  readonly username: string;
  readonly password: string;
  /** The browser's address, sent as Calling-Station-Id (RADIUS) or rem_addr (TACACS+). */
  readonly clientAddress: string;
}

export type AuthOutcome =
  | { readonly kind: 'accept'; readonly server: string; readonly attributes: AttributeBag }
  /** A definitive no. Wrong password and unknown user are indistinguishable on the wire and stay so. */
  | ({ readonly kind: 'reject'; readonly server: string } & RejectDetail)
  /** No server gave a definitive answer before the deadline. */
  | { readonly kind: 'unavailable'; readonly failures: readonly ServerFailure[] };

export interface ServerFailure {
  readonly server: string;
  readonly error: ServerTrouble;
}

/** One protocol front door (RADIUS, later TACACS+) behind which the failover chain sits. */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthOutcome>;
}

export type ServerTroubleReason = 'timeout' | 'refused' | 'bad-reply' | 'network' | 'server-error' | 'deadline';

/**
 * Anything that means "this server gave no usable answer" (RFC 8907 §4.4 and the RADIUS equivalent): the
 * failover chain moves on to the next server. Never a reject, never an accept.
 */
export class ServerTrouble extends Error {
  constructor(
    readonly reason: ServerTroubleReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServerTrouble';
  }
}

/** Input the protocol cannot carry (e.g. a RADIUS password over 128 bytes): the user must be told, no server is asked. */
export class InvalidCredentials extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCredentials';
  }
}

/** What a single server answered; trouble is thrown as ServerTrouble. */
export type ServerVerdict =
  | { readonly kind: 'accept'; readonly attributes: AttributeBag }
  | ({ readonly kind: 'reject' } & RejectDetail);

export interface RejectDetail {
  /** The server's own text (Reply-Message, server_msg); shown to the user only for authorization refusals. */
  readonly message?: string;
  /**
   * `authorization`: the password was right but the server refused the service (TACACS+ authorization FAIL),
   * which the user is told as such; otherwise the credentials were refused.
   */
  readonly stage?: 'authorization';
}

/** `host:port` for logs and errors, with IPv6 addresses in brackets. */
export function serverName(server: HostPort): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** One configured server of some protocol, as the failover chain drives it. */
export interface AaaServer {
  /** `host:port` as configured, for logs and errors. */
  readonly name: string;
  /** Must settle (with ServerTrouble 'deadline') soon after `signal` aborts. */
  verify(request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict>;
}

/** One gateway session as accounting sees it: TACACS+ task_id, RADIUS Acct-Session-Id. */
export interface AccountingSession {
  /** Unique per gateway session; the same value in the START and the STOP record. */
  readonly id: string;
  readonly username: string;
  /** The browser's address (rem_addr / Calling-Station-Id). */
  readonly clientAddress: string;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
}

export type SessionEndCause = 'logout' | 'idle-timeout' | 'max-age' | 'netbox-refused';

/**
 * Session accounting towards the AAA servers. Best effort by contract: implementations log failures and
 * never throw, because an accounting server being down must not lock users out or keep them in.
 */
export interface Accounting {
  start(session: AccountingSession): Promise<void>;
  stop(session: AccountingSession, end: { readonly at: number; readonly cause: SessionEndCause }): Promise<void>;
}
