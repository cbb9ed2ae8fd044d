/**
 * RADIUS session accounting (RFC 2866): an Accounting-Request Start at sign-in and Stop at the end, with the same
 * Acct-Session-Id, sent to the accounting servers in configured order until one answers with an authentic
 * Accounting-Response. Best effort by contract: failures are logged, never thrown.
 *
 * The requests carry no Message-Authenticator: their Request Authenticator already is a keyed MD5 digest of the
 * whole packet (RFC 2866 §3), and BlastRADIUS forges Access-Accepts, which accounting never sees. A
 * Message-Authenticator in a reply is still verified when present (verifyResponse does), so the per-server
 * `requireMessageAuthenticator` policy does not apply here.
 */
import { randomInt } from 'node:crypto';

import type { RadiusServer } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { TlsMaterial } from '../tls.js';
import { ServerTrouble, type Accounting, type AccountingSession, type SessionEndCause } from '../types.js';
import { RadiusCode, encodeAccountingRequest, encodeAttribute, verifyResponse, type RadiusAttribute } from './codec.js';
import { nasAttributes } from './client.js';
import { AcctAuthentic, AcctStatusType, AcctTerminateCause, ServiceType } from './dictionary.js';
import { RadiusTransport } from './transport.js';

export interface RadiusAccountingOptions {
  /** Tried in this order. */
  readonly servers: readonly RadiusServer[];
  /** The shared secret for UDP servers; RadSec servers always use "radsec". */
  readonly secret: string;
  /** Certificates; required when a server is RadSec. */
  readonly tls?: TlsMaterial;
  readonly sourceAddress?: string;
  /** Per transmission (UDP). */
  readonly timeoutMs: number;
  /** Transmissions per server, the first included. */
  readonly retries: number;
  readonly nasIdentifier: string;
  readonly nasIpAddress?: string;
  readonly logger: Logger;
}

/** RFC 2866 §5.10 for each way a gateway session ends. */
const TERMINATE_CAUSE: Readonly<Record<SessionEndCause, number>> = {
  logout: AcctTerminateCause.UserRequest,
  'idle-timeout': AcctTerminateCause.IdleTimeout,
  'max-age': AcctTerminateCause.SessionTimeout,
  // NetBox refused the session the gateway tried to hold for the user: ended by the administrative side.
  'netbox-refused': AcctTerminateCause.AdminReset,
};

export class RadiusAccounting implements Accounting {
  readonly #options: RadiusAccountingOptions;
  readonly #transports: readonly RadiusTransport[];
  readonly #nasAttributes: readonly RadiusAttribute[];
  readonly #log: Logger;
  /** No caller deadline: each server's tries bound the wait. */
  readonly #noDeadline = new AbortController().signal;

  constructor(options: RadiusAccountingOptions) {
    if (options.servers.length === 0) throw new RangeError('accounting needs at least one server');
    if (!Number.isInteger(options.retries) || options.retries < 1) throw new RangeError('retries must be an integer >= 1');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#options = options;
    this.#log = options.logger;
    this.#transports = options.servers.map(
      (server) =>
        new RadiusTransport({ server, secret: options.secret, sourceAddress: options.sourceAddress, tls: options.tls, logger: options.logger }),
    );
    this.#nasAttributes = nasAttributes(options.nasIdentifier, options.nasIpAddress);
  }

  async start(session: AccountingSession): Promise<void> {
    await this.#record(session, AcctStatusType.Start, session.startedAt, [], 'Start');
  }

  async stop(session: AccountingSession, end: { readonly at: number; readonly cause: SessionEndCause }): Promise<void> {
    const seconds = Math.max(0, Math.floor((end.at - session.startedAt) / 1000));
    const stopAttributes = [
      encodeAttribute('Acct-Session-Time', String(seconds)),
      encodeAttribute('Acct-Terminate-Cause', String(TERMINATE_CAUSE[end.cause])),
    ];
    await this.#record(session, AcctStatusType.Stop, end.at, stopAttributes, 'Stop', end.cause);
  }

  async #record(
    session: AccountingSession,
    status: number,
    eventAt: number,
    extra: readonly RadiusAttribute[],
    what: 'Start' | 'Stop',
    cause?: SessionEndCause,
  ): Promise<void> {
    const context = { user: session.username, sessionId: session.id, record: what, ...(cause === undefined ? {} : { cause }) };
    try {
      const attributes = [
        encodeAttribute('Acct-Status-Type', String(status)),
        encodeAttribute('Acct-Session-Id', session.id),
        encodeAttribute('User-Name', session.username),
        ...this.#nasAttributes,
        encodeAttribute('Service-Type', String(ServiceType.Login)),
        encodeAttribute('Acct-Authentic', String(AcctAuthentic.Radius)),
        ...(session.clientAddress ? [encodeAttribute('Calling-Station-Id', session.clientAddress)] : []),
        // When the event happened, whenever the record is sent (a Stop for an expired session may be late).
        encodeAttribute('Event-Timestamp', String(Math.floor(eventAt / 1000))),
        ...extra,
      ];
      for (const transport of this.#transports) {
        if (await this.#sendTo(transport, attributes, context)) return;
      }
      this.#log.error(context, 'RADIUS accounting record not recorded by any server');
    } catch (error) {
      this.#log.error({ ...context, error: String(error) }, 'RADIUS accounting record could not be sent');
    }
  }

  /** Whether `transport`'s server acknowledged the record; trouble is logged and means "try the next one". */
  async #sendTo(transport: RadiusTransport, attributes: readonly RadiusAttribute[], context: object): Promise<boolean> {
    // Encoded per server: each has its own secret, and a new server gets a new Identifier (RFC 5080 §2.2.1).
    const packet = encodeAccountingRequest({ identifier: randomInt(256), secret: transport.secret, attributes });
    const authenticator = packet.subarray(4, 20);
    try {
      await transport.exchange(packet, {
        timeoutMs: this.#options.timeoutMs,
        tries: this.#options.retries,
        signal: this.#noDeadline,
        what: 'Accounting-Request',
        check: (reply) => {
          const check = verifyResponse(reply, authenticator, transport.secret);
          if (!check.ok) return { ok: false, problem: `${check.problem} does not verify (wrong shared secret?)` };
          if (reply.code !== RadiusCode.AccountingResponse) return { ok: false, problem: `code ${reply.code} does not answer an Accounting-Request` };
          return { ok: true, value: undefined };
        },
      });
      this.#log.info({ ...context, server: transport.name }, 'RADIUS accounting record sent');
      return true;
    } catch (error) {
      if (!(error instanceof ServerTrouble)) throw error;
      this.#log.warn({ ...context, server: transport.name, reason: error.reason, detail: error.message }, 'RADIUS accounting server skipped');
      return false;
    }
  }
}
