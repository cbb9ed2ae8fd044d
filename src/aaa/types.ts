import { isIP } from 'node:net';
import type { HostPort } from '../config/types.js';
import type { AttributeBag } from './attributes.js';

/** One sign-in attempt as the AAA layer sees it: no HTTP, no NetBox. */
export interface AuthRequest {
  readonly username: string;
  /** The password, or the answer to a challenge when `challenge` is set. */
  readonly password: string;
  /** Continues a challenge the same server issued (RADIUS State); only `respond` sets it. */
  readonly challenge?: PendingChallenge;
  /** The browser's address, sent as Calling-Station-Id (RADIUS) or rem_addr (TACACS+). */
  readonly clientAddress: string;
}

export type AuthOutcome =
  | { readonly kind: 'accept'; readonly server: string; readonly attributes: AttributeBag }
  /** A definitive no. Wrong password and unknown user are indistinguishable on the wire and stay so. */
  | ({ readonly kind: 'reject'; readonly server: string } & RejectDetail)
  /** The server wants a second step (OTP, push approval): ask the user `prompt`, then call `respond`. */
  | { readonly kind: 'challenge'; readonly server: string; readonly challenge: PendingChallenge }
  /** No server gave a definitive answer before the deadline. */
  | { readonly kind: 'unavailable'; readonly failures: readonly ServerFailure[] };

/**
 * A challenge in progress, kept in the gateway session between the two form posts: plain JSON, nothing a
 * browser ever sees but `prompt`.
 */
export interface PendingChallenge {
  /** Name of the server that issued it; the answer goes back to that server only. */
  readonly server: string;
  /** The server's Reply-Message, shown to the user as the question. */
  readonly prompt: string;
  /** The RADIUS State attribute, base64. */
  readonly state: string;
}

export interface ServerFailure {
  readonly server: string;
  readonly error: ServerTrouble;
}

/** One protocol front door (RADIUS, later TACACS+) behind which the failover chain sits. */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthOutcome>;
  /** Sends the user's answer to the server that issued `request.challenge`, with no failover. */
  respond(request: AuthRequest & { readonly challenge: PendingChallenge }): Promise<AuthOutcome>;
  /** Each server's state, for /-/ready. */
  servers(): readonly ServerStatus[];
  /** Stops background work (probes); for shutdown. */
  close(): void;
}

export interface ServerStatus {
  readonly name: string;
  /** `unknown` until the server first answered or failed. */
  readonly state: 'up' | 'dead' | 'unknown';
  /** Milliseconds since the epoch; set while dead. */
  readonly deadUntil?: number;
  readonly lastError?: string;
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
  | { readonly kind: 'challenge'; readonly prompt: string; readonly state: string }
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
  /**
   * Resolves when the server is reachable and answering (RADIUS Status-Server, a TACACS+ connect), throws
   * ServerTrouble otherwise. Absent: the server cannot be probed and comes back only when its dead time ends.
   */
  probe?(signal: AbortSignal): Promise<void>;
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
