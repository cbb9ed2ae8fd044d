import { describe, expect, it } from 'vitest';

import { AttributeBag } from '../../src/aaa/attributes.js';
import { FailoverAuthenticator } from '../../src/aaa/failover.js';
import {
  InvalidCredentials,
  ServerTrouble,
  type AaaServer,
  type AuthRequest,
  type PendingChallenge,
  type ServerVerdict,
} from '../../src/aaa/types.js';
import type { Logger } from '../../src/log.js';

const request: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };

type Behaviour = (signal: AbortSignal) => Promise<ServerVerdict>;

/** A fake server that records when it was asked and whether its signal had already fired at that time. */
class FakeServer implements AaaServer {
  readonly calls: Array<{ request: AuthRequest; abortedAtStart: boolean }> = [];
  constructor(
    readonly name: string,
    public behaviour: Behaviour,
  ) {}
  verify(req: AuthRequest, signal: AbortSignal): Promise<ServerVerdict> {
    this.calls.push({ request: req, abortedAtStart: signal.aborted });
    return this.behaviour(signal);
  }
}

const accept = (name: string, value = name): Behaviour => {
  const attributes = new AttributeBag();
  attributes.add('Class', value);
  return async () => ({ kind: 'accept', attributes });
};
const reject = (message?: string): Behaviour => async () => (message === undefined ? { kind: 'reject' } : { kind: 'reject', message });
const trouble = (reason: ServerTrouble['reason']): Behaviour => async () => {
  throw new ServerTrouble(reason, `fake ${reason}`);
};
/** Honours its signal, like a real client waiting for a reply that never comes. */
const silent: Behaviour = (signal) =>
  new Promise((_, fail) => signal.addEventListener('abort', () => fail(new ServerTrouble('deadline', 'fake deadline')), { once: true }));
/** Ignores its signal entirely: the chain must still keep its deadline. */
const stuck: Behaviour = () => new Promise(() => {});

interface Entry {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}
function recorder(): Logger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const record = (level: string) => (fields: object, message: string) => entries.push({ level, fields: { ...fields }, message });
  const logger = {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: () => logger,
  };
  return logger;
}

const chain = (servers: AaaServer[], deadlineMs = 500, logger: Logger = recorder()) =>
  new FailoverAuthenticator(servers, { deadlineMs, logger });

describe('FailoverAuthenticator', () => {
  it('asks the first server only when it answers', async () => {
    const a = new FakeServer('a:1812', accept('a'));
    const b = new FakeServer('b:1812', accept('b'));
    const outcome = await chain([a, b]).authenticate(request);
    expect(outcome).toMatchObject({ kind: 'accept', server: 'a:1812' });
    expect(outcome.kind === 'accept' && outcome.attributes.all('class')).toEqual(['a']);
    expect(a.calls).toEqual([{ request, abortedAtStart: false }]);
    expect(b.calls).toEqual([]);
  });

  it('ends the login at a reject and never asks the next server', async () => {
    const a = new FakeServer('a:1812', reject('Authentication failed'));
    const b = new FakeServer('b:1812', accept('b'));
    expect(await chain([a, b]).authenticate(request)).toEqual({ kind: 'reject', server: 'a:1812', message: 'Authentication failed' });
    expect(b.calls).toEqual([]);
    expect(await chain([new FakeServer('a', reject())]).authenticate(request)).toEqual({ kind: 'reject', server: 'a' });
  });

  it('moves on past server trouble in configured order, and a later reject still ends it', async () => {
    const order: string[] = [];
    const track = (name: string, behaviour: Behaviour) => new FakeServer(name, (s) => (order.push(name), behaviour(s)));
    const servers = [track('a', trouble('refused')), track('b', trouble('bad-reply')), track('c', reject()), track('d', accept('d'))];
    expect(await chain(servers).authenticate(request)).toEqual({ kind: 'reject', server: 'c' });
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('reports every failure when no server answers', async () => {
    const logger = recorder();
    const outcome = await chain([new FakeServer('a', trouble('timeout')), new FakeServer('b', trouble('refused'))], 500, logger).authenticate(request);
    expect(outcome.kind).toBe('unavailable');
    if (outcome.kind !== 'unavailable') return;
    expect(outcome.failures.map((f) => [f.server, f.error.reason])).toEqual([
      ['a', 'timeout'],
      ['b', 'refused'],
    ]);
    const skipped = logger.entries.filter((e) => e.message === 'AAA server skipped');
    expect(skipped.map((e) => [e.fields.server, e.fields.reason])).toEqual([
      ['a', 'timeout'],
      ['b', 'refused'],
    ]);
  });

  it('keeps the total deadline: the waiting server is told, later servers are not asked', async () => {
    const a = new FakeServer('a', silent);
    const b = new FakeServer('b', accept('b'));
    const started = performance.now();
    const outcome = await chain([a, b], 120).authenticate(request);
    expect(performance.now() - started).toBeLessThan(400);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => [f.server, f.error.reason])).toEqual([
      ['a', 'deadline'],
      ['b', 'deadline'],
    ]);
    expect(b.calls).toEqual([]);
  });

  it('keeps the deadline even when a server ignores its signal', async () => {
    const started = performance.now();
    const outcome = await chain([new FakeServer('a', stuck)], 100).authenticate(request);
    expect(performance.now() - started).toBeLessThan(400);
    expect(outcome.kind === 'unavailable' && outcome.failures[0]?.error.reason).toBe('deadline');
  });

  it('passes the same deadline signal to each server in turn', async () => {
    const signals: AbortSignal[] = [];
    const grab = (behaviour: Behaviour): Behaviour => (signal) => (signals.push(signal), behaviour(signal));
    await chain([new FakeServer('a', grab(trouble('timeout'))), new FakeServer('b', grab(accept('b')))]).authenticate(request);
    expect(signals).toHaveLength(2);
    expect(signals[0]).toBe(signals[1]);
    expect(signals[0]?.aborted).toBe(false);
  });

  it('propagates InvalidCredentials without asking another server', async () => {
    const a = new FakeServer('a', async () => {
      throw new InvalidCredentials('password too long');
    });
    const b = new FakeServer('b', accept('b'));
    await expect(chain([a, b]).authenticate(request)).rejects.toBeInstanceOf(InvalidCredentials);
    expect(b.calls).toEqual([]);
  });

  it('propagates programming errors instead of hiding them as server trouble', async () => {
    const a = new FakeServer('a', async () => {
      throw new TypeError('bug');
    });
    await expect(chain([a, new FakeServer('b', accept('b'))]).authenticate(request)).rejects.toBeInstanceOf(TypeError);
  });

  it('logs who answered and never the password', async () => {
    const logger = recorder();
    await chain([new FakeServer('a', trouble('refused')), new FakeServer('b', accept('b'))], 500, logger).authenticate(request);
    expect(logger.entries.find((e) => e.message === 'AAA server answered')?.fields).toMatchObject({ server: 'b', verdict: 'accept', user: 'alice' });
    expect(JSON.stringify(logger.entries)).not.toContain(request.password);
  });

  it('refuses an empty server list and a non-positive deadline', () => {
    expect(() => chain([])).toThrow(RangeError);
    expect(() => chain([new FakeServer('a', reject())], 0)).toThrow(RangeError);
  });
});

describe('challenges', () => {
  const challenge: PendingChallenge = { server: 'b', prompt: 'Enter your one-time code', state: 'c3RhdGU=' };
  const answer = { ...request, password: '123456', challenge };
  const challenging: Behaviour = async () => ({ kind: 'challenge', prompt: challenge.prompt, state: challenge.state });
  const later =
    (ms: number, behaviour: Behaviour): Behaviour =>
    async (signal) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return behaviour(signal);
    };

  it('turns a challenge verdict into a challenge naming the server, and asks no other server', async () => {
    const a = new FakeServer('a', trouble('refused'));
    const b = new FakeServer('b', challenging);
    const c = new FakeServer('c', accept('c'));
    expect(await chain([a, b, c]).authenticate(request)).toEqual({ kind: 'challenge', server: 'b', challenge });
    expect(c.calls).toEqual([]);
  });

  it('sends the answer to the server that issued the challenge only, and a slow answer holds nobody out', async () => {
    const a = new FakeServer('a', accept('a'));
    const b = new FakeServer('b', trouble('timeout'));
    const auth = new FailoverAuthenticator([b, a], { deadlineMs: 500, deadTimeMs: 60_000, logger: recorder() });
    // A push approval the user ignores looks like a timeout: it must not put the server in hold-down for everyone.
    expect(await auth.respond(answer)).toMatchObject({ kind: 'unavailable' });
    expect(auth.servers()[0]?.state).not.toBe('dead');
    b.behaviour = accept('b');
    expect(await auth.respond(answer)).toMatchObject({ kind: 'accept', server: 'b' });
    expect(await auth.authenticate(answer)).toMatchObject({ kind: 'accept', server: 'b' });
    expect(a.calls).toEqual([]);
  });

  it('reports trouble at that server as unavailable instead of asking another', async () => {
    const a = new FakeServer('a', accept('a'));
    const b = new FakeServer('b', trouble('refused'));
    const outcome = await chain([a, b]).respond(answer);
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => [f.server, f.error.reason])).toEqual([['b', 'refused']]);
    expect(a.calls).toEqual([]);
  });

  it('passes on a second challenge', async () => {
    expect(await chain([new FakeServer('b', challenging)]).respond(answer)).toEqual({ kind: 'challenge', server: 'b', challenge });
  });

  it('gives the answer its own deadline', async () => {
    const b = new FakeServer('b', later(150, accept('b')));
    const auth = new FailoverAuthenticator([b], { deadlineMs: 50, respondDeadlineMs: 500, logger: recorder() });
    expect((await auth.authenticate(request)).kind).toBe('unavailable');
    expect((await auth.respond(answer)).kind).toBe('accept');
    const started = performance.now();
    const cut = await new FailoverAuthenticator([new FakeServer('b', stuck)], { deadlineMs: 1_000, respondDeadlineMs: 80, logger: recorder() }).respond(answer);
    expect(performance.now() - started).toBeLessThan(400);
    expect(cut.kind === 'unavailable' && cut.failures[0]?.error.reason).toBe('deadline');
  });

  it('cannot answer a challenge from a server no longer configured', async () => {
    const a = new FakeServer('a', accept('a'));
    const outcome = await chain([a]).respond({ ...answer, challenge: { ...challenge, server: 'gone:1812' } });
    expect(outcome.kind === 'unavailable' && outcome.failures.map((f) => f.server)).toEqual(['gone:1812']);
    expect(a.calls).toEqual([]);
  });
});
