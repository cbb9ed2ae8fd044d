/**
 * TACACS+ session accounting (RFC 8907 §7, §8.3): a START record at sign-in and a STOP record at the end, with
 * the same task_id, sent to the servers in configured order until one answers SUCCESS. Best effort by contract:
 * failures are logged, never thrown.
 */
import type { TacacsAuthType } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { ServerTrouble, type Accounting, type AccountingSession, type SessionEndCause } from '../types.js';
import {
  AcctFlag,
  AcctStatus,
  AuthenMethod,
  AuthenService,
  PacketType,
  PrivLevel,
  Version,
  decodeAcctReply,
  encodeAcctRequest,
} from './codec.js';
import { AUTHEN_METHODS } from './client.js';
import { withSession } from './session.js';
import type { Endpoint } from './transport.js';

export interface TacacsAccountingOptions {
  /** Tried in this order. */
  readonly endpoints: readonly Endpoint[];
  readonly timeoutMs: number;
  readonly authType: TacacsAuthType;
  readonly service: string;
  readonly portName: string;
  readonly logger: Logger;
}

export class TacacsAccounting implements Accounting {
  readonly #options: TacacsAccountingOptions;
  readonly #log: Logger;

  constructor(options: TacacsAccountingOptions) {
    if (options.endpoints.length === 0) throw new RangeError('accounting needs at least one server');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#options = options;
    this.#log = options.logger;
  }

  async start(session: AccountingSession): Promise<void> {
    const startTime = unixSeconds(session.startedAt);
    await this.#record(AcctFlag.Start, session, [`task_id=${session.id}`, `start_time=${startTime}`], 'START');
  }

  async stop(session: AccountingSession, end: { readonly at: number; readonly cause: SessionEndCause }): Promise<void> {
    const startTime = unixSeconds(session.startedAt);
    const stopTime = unixSeconds(end.at);
    // Derived from the two whole-second times so that a reader checking stop - start = elapsed finds it true.
    const args = [`task_id=${session.id}`, `start_time=${startTime}`, `stop_time=${stopTime}`, `elapsed_time=${Math.max(0, stopTime - startTime)}`];
    await this.#record(AcctFlag.Stop, session, args, 'STOP', end.cause);
  }

  async #record(flag: number, session: AccountingSession, accountingArgs: string[], what: string, cause?: SessionEndCause): Promise<void> {
    const context = { user: session.username, taskId: session.id, record: what, ...(cause === undefined ? {} : { cause }) };
    try {
      const body = encodeAcctRequest({
        flags: flag,
        authenMethod: AuthenMethod.TacacsPlus,
        privLvl: PrivLevel.User,
        authenType: AUTHEN_METHODS[this.#options.authType].authenType,
        authenService: AuthenService.Login,
        user: session.username,
        port: this.#options.portName,
        remAddr: session.clientAddress,
        // §8.3: the accounting arguments come before the authorization ones such as `service` (§8.2).
        args: [...accountingArgs, `service=${this.#options.service}`],
      });
      for (const endpoint of this.#options.endpoints) {
        if (await this.#sendTo(endpoint, body, context)) return;
      }
      this.#log.error(context, 'TACACS+ accounting record not recorded by any server');
    } catch (error) {
      this.#log.error({ ...context, error: String(error) }, 'TACACS+ accounting record could not be sent');
    }
  }

  /** Whether `endpoint` recorded it; trouble and refusals are logged and mean "try the next one". */
  async #sendTo(endpoint: Endpoint, body: Buffer, context: object): Promise<boolean> {
    const server = endpoint.name;
    try {
      const answer = await withSession(
        endpoint,
        { type: PacketType.Accounting, version: Version.Default },
        { timeoutMs: this.#options.timeoutMs, logger: this.#log },
        (session) => session.exchange(body, decodeAcctReply),
      );
      if (answer.kind === 'unencrypted') {
        // §10.5.2 names no accounting outcome; an unobfuscated reply proves nothing was recorded by our server.
        this.#log.warn({ ...context, server }, 'TACACS+ accounting reply without obfuscation from a server configured with a key; ignored');
        return false;
      }
      const { status, serverMsg } = answer.reply;
      if (status === AcctStatus.Success) {
        this.#log.info({ ...context, server }, 'TACACS+ accounting record sent');
        return true;
      }
      // ERROR (and the deprecated FOLLOW): not recorded there, as if the server could not be reached (§4.4).
      this.#log.warn({ ...context, server, status, serverMsg }, 'TACACS+ server did not record accounting');
      return false;
    } catch (error) {
      if (!(error instanceof ServerTrouble)) throw error;
      this.#log.warn({ ...context, server, reason: error.reason, detail: error.message }, 'TACACS+ accounting server skipped');
      return false;
    }
  }
}

function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
