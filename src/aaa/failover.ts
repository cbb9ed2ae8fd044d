/**
 * The protocol-neutral failover chain: servers in configured order, a definitive answer ends the login, server
 * trouble moves on to the next server, and one deadline bounds the whole login.
 */
import type { Logger } from '../log.js';
import { ServerTrouble, type AaaServer, type AuthOutcome, type AuthRequest, type Authenticator, type ServerFailure } from './types.js';

export interface FailoverOptions {
  /** Total time one login may take, all servers and retransmissions included. */
  readonly deadlineMs: number;
  readonly logger: Logger;
}

export class FailoverAuthenticator implements Authenticator {
  readonly #servers: readonly AaaServer[];
  readonly #deadlineMs: number;
  readonly #log: Logger;

  constructor(servers: readonly AaaServer[], options: FailoverOptions) {
    if (servers.length === 0) throw new RangeError('the failover chain needs at least one server');
    if (!(options.deadlineMs > 0)) throw new RangeError('deadlineMs must be positive');
    this.#servers = servers;
    this.#deadlineMs = options.deadlineMs;
    this.#log = options.logger;
  }

  /**
   * Throws only what is not about a server: InvalidCredentials (the first server refuses to send input the
   * protocol cannot carry, and no later server could either) and programming errors.
   */
  async authenticate(request: AuthRequest): Promise<AuthOutcome> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new ServerTrouble('deadline', `login deadline of ${this.#deadlineMs} ms reached`)),
      this.#deadlineMs,
    );
    try {
      return await this.#tryInOrder(request, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async #tryInOrder(request: AuthRequest, signal: AbortSignal): Promise<AuthOutcome> {
    const failures: ServerFailure[] = [];
    const user = request.username;
    for (const server of this.#candidates()) {
      if (signal.aborted) {
        const error = new ServerTrouble('deadline', `${server.name}: not tried, the login deadline had passed`);
        failures.push({ server: server.name, error });
        this.#log.warn({ server: server.name, user, reason: error.reason }, 'AAA server skipped: login deadline passed before its turn');
        continue;
      }
      try {
        const verdict = await settleByDeadline(server, server.verify(request, signal), signal);
        // A reject ends the login as surely as an accept: asking the next server would let a stale
        // secondary overrule the primary and would double the lockout counters.
        this.#log.info({ server: server.name, user, verdict: verdict.kind }, 'AAA server answered');
        return verdict.kind === 'accept'
          ? { kind: 'accept', server: server.name, attributes: verdict.attributes }
          : { ...verdict, server: server.name };
      } catch (error) {
        if (!(error instanceof ServerTrouble)) throw error;
        failures.push({ server: server.name, error });
        this.#log.warn({ server: server.name, user, reason: error.reason, detail: error.message }, 'AAA server skipped');
      }
    }
    this.#log.warn({ user, servers: failures.map((f) => `${f.server} (${f.error.reason})`) }, 'no AAA server gave an answer');
    return { kind: 'unavailable', failures };
  }

  /** The order in which servers are asked; the one place a dead-time hold-down will reorder them. */
  #candidates(): readonly AaaServer[] {
    return this.#servers;
  }
}

/**
 * The server's own answer, or ServerTrouble('deadline') as soon as the deadline passes even if a misbehaving
 * server implementation ignores its signal: the login must not outlive its deadline.
 */
function settleByDeadline<T>(server: AaaServer, work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(new ServerTrouble('deadline', `${server.name}: no answer before the login deadline`, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
