/**
 * Dead-server handling for the failover chain, the same for RADIUS and TACACS+: a server that gave no usable
 * answer is held down for the dead time so later logins do not each pay its timeout, and optional background
 * probes bring it back before that. One instance per chain; the state lives in memory, and in a DeadServerStore when
 * one is given, so that the gateways sharing it skip a server any of them found dead.
 */
import type { Logger } from '../log.js';
import { ServerTrouble, type AaaServer, type ServerStatus } from './types.js';
import { untilAborted } from './abort.js';
import type { DeadServerStore } from './dead-servers.js';

export interface ServerHealthOptions {
  /** How long a failed server is skipped (AAA_DEAD_TIME); 0 keeps the states for reporting but skips nothing. */
  readonly deadTimeMs: number;
  /** Probe dead servers that implement `probe` this often (AAA_PROBE_INTERVAL); undefined: no probing. */
  readonly probeIntervalMs?: number | undefined;
  /** Hold-downs shared with other gateways. */
  readonly shared?: DeadServerStore | undefined;
  readonly logger: Logger;
}

/**
 * The next step of one login: ask `server` through `run`, or take the failure another login's attempt at it
 * just had (while every server is dead, concurrent logins share one attempt instead of each sending their own).
 * An 'ask' turn may hold the server's only trial: call `run` exactly once, at once, or it stays claimed.
 */
export type Turn =
  | { readonly kind: 'ask'; readonly server: AaaServer; run<T>(work: () => Promise<T>): Promise<T> }
  | { readonly kind: 'failed-elsewhere'; readonly server: AaaServer; readonly error: ServerTrouble };

interface Health {
  readonly server: AaaServer;
  state: ServerStatus['state'];
  /** Epoch ms; meaningful while dead. */
  deadUntil: number;
  lastError: ServerTrouble | undefined;
  /**
   * The one login allowed to ask a dead server (its hold-down over, or every server dead); it settles with that
   * attempt's trouble, or undefined when the server answered or the attempt said nothing about the server.
   */
  trial: Promise<ServerTrouble | undefined> | undefined;
  probing: boolean;
}

export class ServerHealth {
  readonly #health: readonly Health[];
  readonly #deadTimeMs: number;
  readonly #probeIntervalMs: number | undefined;
  readonly #log: Logger;
  readonly #shared: DeadServerStore | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #probes = new Set<AbortController>();
  #closed = false;

  constructor(servers: readonly AaaServer[], options: ServerHealthOptions) {
    if (!(options.deadTimeMs >= 0)) throw new RangeError('deadTimeMs must be 0 or more');
    if (options.probeIntervalMs !== undefined && !(options.probeIntervalMs > 0)) throw new RangeError('probeIntervalMs must be positive');
    this.#health = servers.map((server) => ({ server, state: 'unknown', deadUntil: 0, lastError: undefined, trial: undefined, probing: false }));
    this.#deadTimeMs = options.deadTimeMs;
    this.#probeIntervalMs = options.probeIntervalMs;
    this.#log = options.logger;
    this.#shared = options.deadTimeMs > 0 ? options.shared : undefined;
  }

  /**
   * The next server a login that has already dealt with `done` should turn to: the first live one in configured
   * order (a dead one whose hold-down is over counts as live for the one login that claims its trial); when every
   * remaining server is dead, the one whose hold-down ends first. Undefined when none is left or `signal` fired.
   */
  async next(done: ReadonlySet<AaaServer>, signal: AbortSignal): Promise<Turn | undefined> {
    if (done.size === 0) await this.#adoptShared();
    for (;;) {
      if (signal.aborted) return undefined;
      const remaining = this.#health.filter((h) => !done.has(h.server));
      if (remaining.length === 0) return undefined;
      const now = Date.now();
      const live = remaining.find((h) => this.#usable(h, now));
      if (live) return this.#ask(live, signal);
      // Every remaining server is dead: rather than fail outright, try the one that has had longest to recover.
      const first = remaining.reduce((a, b) => (b.deadUntil < a.deadUntil ? b : a));
      if (first.trial === undefined) return this.#ask(first, signal);
      this.#log.debug({ server: first.server.name }, 'every AAA server is dead; waiting for the attempt another login is making at the first to recover');
      const trouble = await untilAborted(first.trial, signal, () => undefined);
      if (trouble !== undefined) return { kind: 'failed-elsewhere', server: first.server, error: trouble };
      // It answered (so it is live now) or the attempt taught nothing: look again.
    }
  }

  /** Runs one request to `server` outside any login's choice (the answer to a challenge) and records its health. */
  observe<T>(server: AaaServer, work: () => Promise<T>): Promise<T> {
    return this.#observe(this.#of(server), work, undefined);
  }

  /** Each server's state, for /-/ready; messages only, never a cause (which might carry request details). */
  statuses(): ServerStatus[] {
    return this.#health.map((h) => ({
      name: h.server.name,
      state: h.state,
      ...(h.state === 'dead' ? { deadUntil: h.deadUntil } : {}),
      ...(h.lastError === undefined ? {} : { lastError: h.lastError.message }),
    }));
  }

  /** Why a server the login never turned to was left out, when that was its hold-down. */
  heldDown(server: AaaServer): ServerTrouble | undefined {
    const h = this.#of(server);
    if (h.state !== 'dead' || h.lastError === undefined || h.deadUntil <= Date.now()) return undefined;
    return new ServerTrouble(h.lastError.reason, `${server.name}: skipped, dead until ${new Date(h.deadUntil).toISOString()} (${h.lastError.message})`, {
      cause: h.lastError,
    });
  }

  /** Stops probing; logins keep working, without probes. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    for (const probe of this.#probes) probe.abort(new ServerTrouble('deadline', 'probing stopped'));
  }

  /** Takes on the hold-downs other gateways recorded; without the store, this gateway goes by what it saw itself. */
  async #adoptShared(): Promise<void> {
    if (this.#shared === undefined) return;
    let held: Awaited<ReturnType<DeadServerStore['heldDown']>>;
    try {
      held = await this.#shared.heldDown(Date.now());
    } catch (error) {
      this.#log.debug({ error: error instanceof Error ? error.message : String(error) }, 'shared AAA server states unavailable; using this gateway\'s own');
      return;
    }
    for (const h of this.#health) {
      const record = held.get(h.server.name);
      if (record === undefined || h.trial !== undefined || (h.state === 'dead' && h.deadUntil >= record.until)) continue;
      if (h.state !== 'dead') this.#log.info({ server: h.server.name, deadUntil: new Date(record.until).toISOString() }, 'AAA server held down: another gateway found it dead');
      h.state = 'dead';
      h.deadUntil = record.until;
      h.lastError = new ServerTrouble(record.reason, `${record.message} (seen by another gateway)`);
      this.#scheduleProbes();
    }
  }

  #share(work: (store: DeadServerStore) => Promise<void>): void {
    if (this.#shared === undefined) return;
    work(this.#shared).catch((error: unknown) => {
      this.#log.debug({ error: error instanceof Error ? error.message : String(error) }, 'could not share an AAA server state');
    });
  }

  #usable(h: Health, now: number): boolean {
    if (h.state !== 'dead' || this.#deadTimeMs === 0) return true;
    if (h.deadUntil > now) {
      this.#log.debug({ server: h.server.name, deadUntil: new Date(h.deadUntil).toISOString() }, 'AAA server skipped: dead');
      return false;
    }
    // Hold-down over: one login finds out whether it is back; the others keep skipping it meanwhile.
    return h.trial === undefined;
  }

  #ask(h: Health, signal: AbortSignal): Turn {
    let settle: ((trouble: ServerTrouble | undefined) => void) | undefined;
    if (h.state === 'dead' && this.#deadTimeMs > 0) h.trial = new Promise((resolve) => (settle = resolve));
    return {
      kind: 'ask',
      server: h.server,
      run: (work) => {
        if (!signal.aborted) return this.#observe(h, work, settle);
        // Not asked at all, so nothing is learnt about the server.
        this.#endTrial(h, settle, undefined);
        return Promise.reject(new ServerTrouble('deadline', `${h.server.name}: not tried, the login deadline had passed`, { cause: signal.reason }));
      },
    };
  }

  async #observe<T>(h: Health, work: () => Promise<T>, settle: ((trouble: ServerTrouble | undefined) => void) | undefined): Promise<T> {
    try {
      const value = await work();
      this.#answered(h, 'login');
      this.#endTrial(h, settle, undefined);
      return value;
    } catch (error) {
      if (error instanceof ServerTrouble) {
        this.#failed(h, error, settle !== undefined);
        this.#endTrial(h, settle, error);
      } else {
        this.#endTrial(h, settle, undefined);
      }
      throw error;
    }
  }

  #endTrial(h: Health, settle: ((trouble: ServerTrouble | undefined) => void) | undefined, trouble: ServerTrouble | undefined): void {
    if (settle === undefined) return;
    h.trial = undefined;
    settle(trouble);
  }

  #answered(h: Health, via: 'login' | 'probe'): void {
    const previous = h.state;
    h.state = 'up';
    h.deadUntil = 0;
    if (previous === 'dead') {
      this.#log.info({ server: h.server.name, via }, 'AAA server is up again');
      this.#share((store) => store.markUp(h.server.name));
    }
  }

  /**
   * Any ServerTrouble counts, the login deadline cutting the server short included: it did not answer in time,
   * and only skipping it keeps the next logins from spending their whole deadline on it again.
   * `trial`: this attempt was the one allowed at a dead server, so its failure starts a new hold-down. Any other
   * failure of a server already held down (a request sent before it was marked) leaves the hold-down as it is.
   */
  #failed(h: Health, error: ServerTrouble, trial: boolean): void {
    h.lastError = error;
    const now = Date.now();
    const heldDown = h.state === 'dead' && h.deadUntil > now;
    if (heldDown && !trial) return;
    const previous = h.state;
    h.state = 'dead';
    h.deadUntil = now + this.#deadTimeMs;
    this.#share((store) => store.markDead(h.server.name, { until: h.deadUntil, reason: error.reason, message: error.message }));
    const fields = { server: h.server.name, reason: error.reason, detail: error.message, deadUntil: new Date(h.deadUntil).toISOString() };
    if (previous === 'dead') this.#log.debug(fields, 'AAA server still dead');
    else this.#log.warn({ ...fields, deadTimeMs: this.#deadTimeMs }, 'AAA server marked dead');
    this.#scheduleProbes();
  }

  #scheduleProbes(): void {
    const interval = this.#probeIntervalMs;
    if (interval === undefined || this.#closed || this.#probeTimer !== undefined) return;
    if (!this.#health.some((h) => h.state === 'dead' && h.server.probe !== undefined)) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      for (const h of this.#health) if (h.state === 'dead' && !h.probing) void this.#probe(h, interval);
      this.#scheduleProbes();
    }, interval);
    // Probes must never keep the process alive on their own.
    this.#probeTimer.unref();
  }

  async #probe(h: Health, interval: number): Promise<void> {
    const server = h.server;
    if (server.probe === undefined) return;
    h.probing = true;
    const controller = new AbortController();
    this.#probes.add(controller);
    // A probe still running when the next round is due is as good as failed.
    const timer = setTimeout(() => controller.abort(new ServerTrouble('timeout', `${server.name}: probe unanswered within ${interval} ms`)), interval);
    timer.unref();
    try {
      await untilAborted(server.probe(controller.signal), controller.signal, () => undefined);
      if (controller.signal.aborted) throw controller.signal.reason;
      if (!this.#closed && h.state === 'dead') this.#answered(h, 'probe');
    } catch (error) {
      if (!(error instanceof ServerTrouble)) {
        this.#log.error({ server: server.name, error: String(error) }, 'AAA server probe failed unexpectedly');
      } else if (!this.#closed && h.state === 'dead') {
        h.lastError = error;
        this.#log.debug({ server: server.name, reason: error.reason, detail: error.message }, 'AAA server probe failed');
      }
    } finally {
      clearTimeout(timer);
      this.#probes.delete(controller);
      h.probing = false;
    }
  }

  #of(server: AaaServer): Health {
    const h = this.#health.find((candidate) => candidate.server === server);
    if (h === undefined) throw new RangeError(`${server.name} is not one of this chain's servers`);
    return h;
  }
}
