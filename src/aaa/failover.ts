/**
 * The protocol-neutral failover chain: servers in configured order, a definitive answer ends the login, server
 * trouble moves on to the next server, one deadline bounds the whole login, and servers that failed are held
 * down for the dead time (ServerHealth) so later logins do not each wait for them.
 */
import type { Logger } from '../log.js';
import { untilAborted } from './abort.js';
import type { DeadServerStore } from './dead-servers.js';
import { ServerHealth } from './server-health.js';
import {
  ServerTrouble,
  type AaaServer,
  type AuthOutcome,
  type AuthRequest,
  type Authenticator,
  type PendingChallenge,
  type ServerFailure,
  type ServerStatus,
  type ServerVerdict,
} from './types.js';

export interface FailoverOptions {
  /** Total time one login may take, all servers and retransmissions included. */
  readonly deadlineMs: number;
  /**
   * Total time the answer to a challenge may take; default `deadlineMs`. Longer where the protocol waits longer
   * for a second factor (a push approval on the user's phone).
   */
  readonly respondDeadlineMs?: number;
  /** How long a server that gave no usable answer is skipped; 0 or absent: never skipped (states still reported). */
  readonly deadTimeMs?: number;
  /** Probe dead servers that implement `probe` this often; absent: dead servers come back only by their dead time. */
  readonly probeIntervalMs?: number;
  /** Hold-downs shared with other gateways (Redis); absent: this gateway's own only. */
  readonly deadServers?: DeadServerStore;
  readonly logger: Logger;
}

export class FailoverAuthenticator implements Authenticator {
  readonly #servers: readonly AaaServer[];
  readonly #deadlineMs: number;
  readonly #respondDeadlineMs: number;
  readonly #health: ServerHealth;
  readonly #log: Logger;

  constructor(servers: readonly AaaServer[], options: FailoverOptions) {
    if (servers.length === 0) throw new RangeError('the failover chain needs at least one server');
    if (!(options.deadlineMs > 0)) throw new RangeError('deadlineMs must be positive');
    const respondDeadlineMs = options.respondDeadlineMs ?? options.deadlineMs;
    if (!(respondDeadlineMs > 0)) throw new RangeError('respondDeadlineMs must be positive');
    this.#servers = servers;
    this.#deadlineMs = options.deadlineMs;
    this.#respondDeadlineMs = respondDeadlineMs;
    this.#health = new ServerHealth(servers, { deadTimeMs: options.deadTimeMs ?? 0, probeIntervalMs: options.probeIntervalMs, shared: options.deadServers, logger: options.logger });
    this.#log = options.logger;
  }

  /**
   * Throws only what is not about a server: InvalidCredentials (the first server refuses to send input the
   * protocol cannot carry, and no later server could either) and programming errors.
   */
  authenticate(request: AuthRequest): Promise<AuthOutcome> {
    return withDeadline(this.#deadlineMs, 'login', (signal) => this.#tryInTurn(request, signal));
  }

  /** No failover and no dead-time skip: only the server that issued the challenge holds its State. */
  respond(request: AuthRequest & { readonly challenge: PendingChallenge }): Promise<AuthOutcome> {
    const name = request.challenge.server;
    const user = request.username;
    const server = this.#servers.find((candidate) => candidate.name === name);
    if (server === undefined) {
      // Only when the configuration changed between the challenge and its answer: the user has to start over.
      this.#log.warn({ server: name, user }, 'answer to a challenge from a server no longer configured');
      const error = new ServerTrouble('network', `${name}: not a configured server (any more); sign in again`);
      return Promise.resolve({ kind: 'unavailable', failures: [{ server: name, error }] });
    }
    return withDeadline(this.#respondDeadlineMs, 'challenge answer', async (signal) => {
      try {
        // Not observed by the health engine: a server waiting for a push approval the user ignores is not dead,
        // and holding it down would lock everybody else out for the dead time.
        const verdict = await answerByDeadline(server, request, signal);
        return this.#outcome(server, verdict, user);
      } catch (error) {
        if (!(error instanceof ServerTrouble)) throw error;
        this.#log.warn({ server: name, user, reason: error.reason, detail: error.message }, 'AAA server gave no answer to the challenge response');
        return { kind: 'unavailable', failures: [{ server: name, error }] };
      }
    });
  }

  servers(): readonly ServerStatus[] {
    return this.#health.statuses();
  }

  /** Stops background probing (shutdown, tests); logins keep working. */
  close(): void {
    this.#health.close();
  }

  async #tryInTurn(request: AuthRequest, signal: AbortSignal): Promise<AuthOutcome> {
    const failures: ServerFailure[] = [];
    const done = new Set<AaaServer>();
    const user = request.username;
    for (let turn = await this.#health.next(done, signal); turn !== undefined; turn = await this.#health.next(done, signal)) {
      const server = turn.server;
      done.add(server);
      if (turn.kind === 'failed-elsewhere') {
        failures.push({ server: server.name, error: turn.error });
        this.#log.warn({ server: server.name, user, reason: turn.error.reason, detail: turn.error.message }, 'AAA server skipped: another login just tried it');
        continue;
      }
      try {
        const verdict = await turn.run(() => answerByDeadline(server, request, signal));
        // A reject ends the login as surely as an accept: asking the next server would let a stale
        // secondary overrule the primary and would double the lockout counters.
        return this.#outcome(server, verdict, user);
      } catch (error) {
        if (!(error instanceof ServerTrouble)) throw error;
        failures.push({ server: server.name, error });
        this.#log.warn({ server: server.name, user, reason: error.reason, detail: error.message }, 'AAA server skipped');
      }
    }
    for (const server of this.#servers) {
      if (done.has(server)) continue;
      const dead = this.#health.heldDown(server);
      const error = dead ?? new ServerTrouble('deadline', `${server.name}: not tried, the login deadline had passed`);
      failures.push({ server: server.name, error });
      const why = dead ? 'AAA server skipped: dead' : 'AAA server skipped: login deadline passed before its turn';
      this.#log.warn({ server: server.name, user, reason: error.reason, detail: error.message }, why);
    }
    this.#log.warn({ user, servers: failures.map((f) => `${f.server} (${f.error.reason})`) }, 'no AAA server gave an answer');
    return { kind: 'unavailable', failures };
  }

  #outcome(server: AaaServer, verdict: ServerVerdict, user: string): AuthOutcome {
    this.#log.info({ server: server.name, user, verdict: verdict.kind }, 'AAA server answered');
    switch (verdict.kind) {
      case 'accept':
        return { kind: 'accept', server: server.name, attributes: verdict.attributes };
      case 'reject':
        return { ...verdict, server: server.name };
      case 'challenge':
        return { kind: 'challenge', server: server.name, challenge: { server: server.name, prompt: verdict.prompt, state: verdict.state } };
    }
  }
}

async function withDeadline<T>(ms: number, what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new ServerTrouble('deadline', `${what} deadline of ${ms} ms reached`)), ms);
  try {
    return await run(deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The server's own answer, or ServerTrouble('deadline') as soon as the deadline passes even if a misbehaving
 * server implementation ignores its signal: the login must not outlive its deadline.
 */
function answerByDeadline(server: AaaServer, request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
  return untilAborted(server.verify(request, signal), signal, () => {
    throw new ServerTrouble('deadline', `${server.name}: no answer before the deadline`, { cause: signal.reason });
  });
}
