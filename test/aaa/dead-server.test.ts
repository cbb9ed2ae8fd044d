/**
 * The dead-server engine with fake servers: hold-down, recovery, every server dead, concurrency, probing and
 * what servers() reports. The wire behaviour (refused vs black hole, TACACS+ probes) is in dead-server-wire.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AttributeBag } from '../../src/aaa/attributes.js';
import { FailoverAuthenticator, type FailoverOptions } from '../../src/aaa/failover.js';
import { InvalidCredentials, ServerTrouble, type AaaServer, type AuthOutcome, type AuthRequest, type ServerVerdict } from '../../src/aaa/types.js';
import { recorder } from '../support/log-recorder.js';

const request: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const DEAD_TIME = 60_000;

type Behaviour = (signal: AbortSignal) => Promise<ServerVerdict>;

/** A server whose answer can change between logins, counting how often it was asked and probed. */
class FakeServer implements AaaServer {
  calls = 0;
  probes = 0;
  probe?: (signal: AbortSignal) => Promise<void>;
  constructor(
    readonly name: string,
    public behaviour: Behaviour,
  ) {}
  verify(_request: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
    this.calls++;
    return this.behaviour(signal);
  }
  /** From now on it answers probes with `result` (ServerTrouble: fails them). */
  probeWith(result: () => ServerTrouble | undefined): void {
    this.probe = async () => {
      this.probes++;
      const error = result();
      if (error) throw error;
    };
  }
}

const accept: Behaviour = async () => ({ kind: 'accept', attributes: new AttributeBag() });
const reject: Behaviour = async () => ({ kind: 'reject' });
const trouble =
  (reason: ServerTrouble['reason'], delayMs = 0): Behaviour =>
  async () => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    throw new ServerTrouble(reason, `fake ${reason}`);
  };
/** Answers after `ms`, like a server a few round trips away. */
const slowly =
  (behaviour: Behaviour, ms: number): Behaviour =>
  async (signal) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return behaviour(signal);
  };
/** Honours its signal, like a real client waiting for a reply that never comes. */
const silent: Behaviour = (signal) =>
  new Promise((_, fail) => signal.addEventListener('abort', () => fail(new ServerTrouble('deadline', 'fake deadline')), { once: true }));

function chain(servers: AaaServer[], options: Partial<FailoverOptions> = {}) {
  const logger = recorder();
  const auth = new FailoverAuthenticator(servers, { deadlineMs: 1_000, deadTimeMs: DEAD_TIME, logger, ...options });
  opened.push(auth);
  return { auth, logger };
}
const opened: FailoverAuthenticator[] = [];

afterEach(() => {
  for (const auth of opened.splice(0)) auth.close();
  vi.useRealTimers();
});

/** Fakes only the wall clock the hold-down is measured with; timers and deadlines stay real. */
function fakeClock(): { advance(ms: number): void } {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.UTC(2030, 0, 1, 3, 0, 0));
  return { advance: (ms) => vi.setSystemTime(Date.now() + ms) };
}

const answeredBy = (outcome: AuthOutcome): string | undefined => (outcome.kind === 'unavailable' ? undefined : outcome.server);
const count = (lines: string[], message: string): number => lines.filter((line) => line.includes(` ${message} `)).length;

describe('hold-down', () => {
  it('skips a dead server in later logins: the second login does not touch it', async () => {
    const a = new FakeServer('a', trouble('timeout'));
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b]);
    expect(answeredBy(await auth.authenticate(request))).toBe('b');
    expect(answeredBy(await auth.authenticate(request))).toBe('b');
    expect([a.calls, b.calls]).toEqual([1, 2]);
  });

  it('asks it again once the dead time is over, and it is up when it answers', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', accept);
    const { auth, logger } = chain([a, b]);
    await auth.authenticate(request);
    clock.advance(DEAD_TIME - 1);
    await auth.authenticate(request);
    expect(a.calls).toBe(1);
    clock.advance(1);
    a.behaviour = accept;
    expect(answeredBy(await auth.authenticate(request))).toBe('a');
    expect(a.calls).toBe(2);
    expect(auth.servers()[0]).toEqual({ name: 'a', state: 'up', lastError: 'fake refused' });
    expect(count(logger.lines, 'AAA server marked dead')).toBe(1);
    expect(count(logger.lines, 'AAA server is up again')).toBe(1);
  });

  it('holds a server down again when it still fails after its dead time, without logging a new state change', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('timeout'));
    const { auth, logger } = chain([a, new FakeServer('b', accept)]);
    await auth.authenticate(request);
    clock.advance(DEAD_TIME);
    await auth.authenticate(request);
    expect(a.calls).toBe(2);
    expect(auth.servers()[0]).toMatchObject({ state: 'dead', deadUntil: Date.now() + DEAD_TIME });
    await auth.authenticate(request);
    expect(a.calls).toBe(2);
    expect(count(logger.lines, 'AAA server marked dead')).toBe(1);
  });

  it('never marks a server dead for a reject', async () => {
    const a = new FakeServer('a', reject);
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b]);
    for (let i = 0; i < 3; i++) expect(await auth.authenticate(request)).toEqual({ kind: 'reject', server: 'a' });
    expect([a.calls, b.calls]).toEqual([3, 0]);
    expect(auth.servers()).toEqual([
      { name: 'a', state: 'up' },
      { name: 'b', state: 'unknown' },
    ]);
  });

  it('marks dead a server the login deadline cut short: it did not answer in time', async () => {
    const a = new FakeServer('a', silent);
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b], { deadlineMs: 80 });
    const first = await auth.authenticate(request);
    expect(first.kind === 'unavailable' && first.failures.map((f) => [f.server, f.error.reason])).toEqual([
      ['a', 'deadline'],
      ['b', 'deadline'],
    ]);
    // b was never asked, so nothing is known about it.
    expect(auth.servers().map((s) => s.state)).toEqual(['dead', 'unknown']);
    const started = performance.now();
    expect(answeredBy(await auth.authenticate(request))).toBe('b');
    expect(performance.now() - started).toBeLessThan(40);
    expect(a.calls).toBe(1);
  });

  it('with a dead time of 0 reports the state but skips nothing', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const { auth, logger } = chain([a, new FakeServer('b', accept)], { deadTimeMs: 0 });
    await auth.authenticate(request);
    await auth.authenticate(request);
    expect(a.calls).toBe(2);
    expect(auth.servers()[0]).toMatchObject({ name: 'a', state: 'dead', lastError: 'fake refused' });
    expect(count(logger.lines, 'AAA server marked dead')).toBe(1);
  });

  it('lists a server skipped as dead in an unavailable outcome, with its last error', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b], { deadlineMs: 80 });
    await auth.authenticate(request);
    clock.advance(1);
    b.behaviour = silent;
    const outcome = await auth.authenticate(request);
    // a was dead, b was asked and the deadline cut it; a was left for lack of time, not asked as a last resort.
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => [f.server, f.error.reason, f.error.message])).toEqual([
      ['b', 'deadline', 'b: no answer before the deadline'],
      ['a', 'refused', `a: skipped, dead until ${new Date(Date.now() - 1 + DEAD_TIME).toISOString()} (fake refused)`],
    ]);
    expect(a.calls).toBe(1);
  });
});

describe('every server dead', () => {
  it('falls back to the dead server rather than failing when the last live one fails', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    b.behaviour = trouble('refused');
    a.behaviour = accept;
    expect(answeredBy(await auth.authenticate(request))).toBe('a');
    expect(auth.servers().map((s) => s.state)).toEqual(['up', 'dead']);
  });

  it('tries the one whose hold-down ends first, whatever the configured order', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', accept);
    const { auth } = chain([a, b]);
    await auth.authenticate(request); // a dead until t0 + D
    clock.advance(1);
    b.behaviour = trouble('refused');
    a.behaviour = async () => {
      clock.advance(5);
      throw new ServerTrouble('refused', 'still refused');
    };
    await auth.authenticate(request); // b dead until t0 + 1 + D, then a as a last resort: dead until t0 + 6 + D
    const [deadA, deadB] = auth.servers().map((s) => s.deadUntil ?? 0);
    expect(deadB).toBeLessThan(deadA!);
    clock.advance(10);
    b.behaviour = accept;
    a.calls = 0;
    expect(answeredBy(await auth.authenticate(request))).toBe('b');
    expect(a.calls).toBe(0);
  });

  it('gives up only after every server was tried', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', trouble('server-error'));
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    const outcome = await auth.authenticate(request);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => [f.server, f.error.reason])).toEqual([
      ['a', 'refused'],
      ['b', 'server-error'],
    ]);
    expect([a.calls, b.calls]).toEqual([2, 2]);
  });
});

describe('concurrent logins', () => {
  const logins = (auth: FailoverAuthenticator, n = 20) => Promise.all(Array.from({ length: n }, () => auth.authenticate(request)));

  it('do not touch a server just marked dead', async () => {
    const a = new FakeServer('a', trouble('timeout'));
    const b = new FakeServer('b', slowly(accept, 5));
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    const outcomes = await logins(auth);
    expect(outcomes.map(answeredBy)).toEqual(Array(20).fill('b'));
    expect(a.calls).toBe(1);
  });

  it('send one login to a server whose dead time is over; the others go on to the next meanwhile', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('timeout'));
    const b = new FakeServer('b', slowly(accept, 5));
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    clock.advance(DEAD_TIME);
    a.behaviour = trouble('timeout', 50);
    const outcomes = await logins(auth);
    expect(outcomes.map(answeredBy)).toEqual(Array(20).fill('b'));
    expect(a.calls).toBe(2);
  });

  it('share one attempt per server while every server is dead', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', trouble('refused'));
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    a.behaviour = trouble('refused', 20);
    b.behaviour = trouble('refused', 20);
    const outcomes = await logins(auth);
    expect(outcomes.every((o) => o.kind === 'unavailable' && o.failures.length === 2)).toBe(true);
    expect([a.calls, b.calls]).toEqual([2, 2]);
  });

  it('all use the first server once its one attempt shows it is back', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', trouble('refused'));
    const { auth } = chain([a, b]);
    await auth.authenticate(request);
    a.behaviour = slowly(accept, 20);
    const outcomes = await logins(auth);
    expect(outcomes.map(answeredBy)).toEqual(Array(20).fill('a'));
    expect(b.calls).toBe(1);
  });

  it('log a death once however many logins saw it', async () => {
    const a = new FakeServer('a', trouble('timeout', 20));
    const { auth, logger } = chain([a, new FakeServer('b', accept)]);
    await logins(auth);
    // All twenty were sent before the first failure came back: unavoidable, and the limit of what a death costs.
    expect(a.calls).toBe(20);
    expect(count(logger.lines, 'AAA server marked dead')).toBe(1);
  });

  it('free the attempt when it ends without a verdict about the server', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('refused'));
    const { auth } = chain([a, new FakeServer('b', accept)]);
    await auth.authenticate(request);
    clock.advance(DEAD_TIME);
    a.behaviour = async () => {
      throw new InvalidCredentials('too long');
    };
    await expect(auth.authenticate(request)).rejects.toBeInstanceOf(InvalidCredentials);
    a.behaviour = accept;
    expect(answeredBy(await auth.authenticate(request))).toBe('a');
  });
});

describe('probing', () => {
  it('brings a dead server back before its dead time ends', async () => {
    const a = new FakeServer('a', trouble('refused'));
    let reachable = false;
    a.probeWith(() => (reachable ? undefined : new ServerTrouble('refused', 'probe refused')));
    const { auth, logger } = chain([a, new FakeServer('b', accept)], { probeIntervalMs: 20 });
    await auth.authenticate(request);
    await vi.waitFor(() => expect(a.probes).toBeGreaterThanOrEqual(2), { timeout: 1_000, interval: 5 });
    expect(auth.servers()[0]).toMatchObject({ state: 'dead', lastError: 'probe refused' });
    reachable = true;
    await vi.waitFor(() => expect(auth.servers()[0]?.state).toBe('up'), { timeout: 1_000, interval: 5 });
    expect(logger.lines.some((l) => l.includes('AAA server is up again') && l.includes('"via":"probe"'))).toBe(true);
    a.behaviour = accept;
    expect(answeredBy(await auth.authenticate(request))).toBe('a');
    // Up servers are not probed.
    const probes = a.probes;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(a.probes).toBe(probes);
  });

  it('stops at close()', async () => {
    const a = new FakeServer('a', trouble('refused'));
    a.probeWith(() => new ServerTrouble('refused', 'probe refused'));
    const { auth } = chain([a, new FakeServer('b', accept)], { probeIntervalMs: 20 });
    await auth.authenticate(request);
    await vi.waitFor(() => expect(a.probes).toBeGreaterThanOrEqual(1), { timeout: 1_000, interval: 5 });
    auth.close();
    const probes = a.probes;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(a.probes).toBe(probes);
  });

  it('gives up on a probe that outlasts the interval and aborts it', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const aborted: unknown[] = [];
    a.probe = (signal) => {
      a.probes++;
      signal.addEventListener('abort', () => aborted.push(signal.reason));
      return new Promise(() => {});
    };
    const { auth } = chain([a, new FakeServer('b', accept)], { probeIntervalMs: 20 });
    await auth.authenticate(request);
    await vi.waitFor(() => expect(a.probes).toBeGreaterThanOrEqual(2), { timeout: 1_000, interval: 5 });
    expect(aborted[0]).toBeInstanceOf(ServerTrouble);
    expect(auth.servers()[0]).toMatchObject({ state: 'dead', lastError: 'a: probe unanswered within 20 ms' });
  });

  it('is off without an interval, and dead servers wait for their dead time', async () => {
    const a = new FakeServer('a', trouble('refused'));
    a.probeWith(() => undefined);
    const { auth } = chain([a, new FakeServer('b', accept)]);
    await auth.authenticate(request);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.probes).toBe(0);
    expect(auth.servers()[0]?.state).toBe('dead');
  });
});

describe('servers()', () => {
  it('starts unknown, and reports up, dead with its hold-down end, and the last error as text only', async () => {
    const clock = fakeClock();
    const a = new FakeServer('a', trouble('bad-reply'));
    const { auth } = chain([a, new FakeServer('b', accept), new FakeServer('c', accept)]);
    expect(auth.servers()).toEqual([
      { name: 'a', state: 'unknown' },
      { name: 'b', state: 'unknown' },
      { name: 'c', state: 'unknown' },
    ]);
    await auth.authenticate(request);
    expect(auth.servers()).toEqual([
      { name: 'a', state: 'dead', deadUntil: Date.now() + DEAD_TIME, lastError: 'fake bad-reply' },
      { name: 'b', state: 'up' },
      { name: 'c', state: 'unknown' },
    ]);
    expect(JSON.stringify(auth.servers())).not.toContain(request.password);
    clock.advance(DEAD_TIME);
    // The hold-down is over but nothing has been heard from it: still dead until it answers.
    expect(auth.servers()[0]?.state).toBe('dead');
  });
});

describe('construction', () => {
  it('refuses a negative dead time and a non-positive probe interval or respond deadline', () => {
    const a = new FakeServer('a', accept);
    expect(() => chain([a], { deadTimeMs: -1 })).toThrow(RangeError);
    expect(() => chain([a], { probeIntervalMs: 0 })).toThrow(RangeError);
    expect(() => chain([a], { respondDeadlineMs: 0 })).toThrow(RangeError);
  });
});
