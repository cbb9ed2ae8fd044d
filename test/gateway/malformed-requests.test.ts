/**
 * Issue 8: nothing a client sends can end the process, and nothing reaches NetBox without a session.
 *
 * The gateway runs as a child process (so a crash shows as the child exiting) in front of the NetBox double and
 * the RADIUS test server, which run here. A seeded generator (test/support/malformed-requests.ts) sends
 * thousands of malformed requests as exact bytes over raw sockets, in batches with bounded concurrency. After
 * each batch the child must still run and answer `/-/health`, and every request the double recorded must be a
 * clean static file or the gateway's own token check, without NetBox cookies or identity headers.
 *
 * Signed-in traffic: on each child, alice and bob sign in on the gateway's form, and about a third of the requests
 * carry one of their gateway cookies (merged into the generator's Cookie header or on its own, tagged with
 * X-Fuzz-Signed-In), malformed as generated otherwise. What those reach NetBox with may be any method and path, but
 * only as signedInViolationsOf allows: the gateway's forwarding headers, no hop-by-hop headers, one clean path, and
 * the user's own NetBox session and identity, never the client's. A signed-in DELETE or OPTIONS with a chunked body
 * never reaches NetBox, and both users are still signed in on the gateway after every batch.
 *
 * Replay a run: FUZZ_SEED=<seed printed> npx vitest run test/gateway/malformed-requests.test.ts
 * Knobs: FUZZ_REQUESTS (per mode, default 5000), FUZZ_BUDGET_MS (sending time per mode, default 36000),
 * FUZZ_GATEWAY_MAIN (the entry point the child runs, default src/main.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { parseDjangoCookies } from '../netbox-double/context.js';
import { startNetboxDouble, type NetboxDouble, type RecordedRequest } from '../netbox-double/index.js';
import { freePort } from '../support/free-port.js';
import { signIn } from '../support/gateway-form.js';
import {
  bindSession,
  CHUNKED_DELETE_HEADER,
  FUZZ_ID_HEADER,
  GATEWAY_COOKIE,
  generateRequests,
  SESSION_PLACEHOLDER,
  showBytes,
  SIGNED_IN_HEADER,
  signedInViolationsOf,
  SMUGGLED_MARK,
  violationsOf,
  type FuzzRequest,
} from '../support/malformed-requests.js';
import { RadiusTestServer } from '../support/radius-server.js';
import { RADIUS_SECRET, STACK_USERS } from '../support/stack.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** FUZZ_GATEWAY_MAIN runs another entry point instead (e.g. a build in dist/, or a patched copy while fixing). */
const MAIN = process.env['FUZZ_GATEWAY_MAIN'] ?? join(REPO, 'src', 'main.ts');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

const SEED = parseSeed(process.env['FUZZ_SEED']);
const REQUESTS_PER_MODE = Number(process.env['FUZZ_REQUESTS'] ?? 5000);
const SEND_BUDGET_MS = Number(process.env['FUZZ_BUDGET_MS'] ?? 36_000);
const BATCH_SIZE = 250;
const CONCURRENCY = 32;
/** How long a socket waits for the answers to a complete request before it is destroyed. */
const ANSWER_TIMEOUT_MS = 2000;
/** How long a socket that stopped mid-request (or sent no HTTP at all) is held open to see what the gateway does. */
const HOLD_MS = 250;
const HEALTH_TIMEOUT_MS = 5000;
const CHILD_START_TIMEOUT_MS = 20_000;
/** Looking for the one request behind a crash replays the requests in flight, one at a time, for at most this long. */
const REPLAY_BUDGET_MS = 10_000;
/** Of the HTTP requests (raw non-HTTP bytes aside, 8%), the share that carries a signed-in user's gateway cookie. */
const SIGNED_IN_SHARE = 0.38;
const SIGNED_IN_USERS = ['alice', 'bob'] as const;
/** On the clean request each sign-in makes through the gateway, to see what the gateway sends NetBox for the user. */
const PROBE_HEADER = 'x-fuzz-probe';
const PEER = '127.0.0.1';

function parseSeed(text: string | undefined): number {
  if (text === undefined || text === '') return (Math.random() * 0x1_0000_0000) >>> 0;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new Error(`FUZZ_SEED must be a 32-bit unsigned integer (decimal or 0x hex), got ${text}`);
  return value;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// The gateway as a child process

const TAIL_BYTES = 64 * 1024;

class GatewayChild {
  stdout = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  /** pino lines at error level or above, counted by message. */
  readonly errorLogs = new Map<string, number>();
  readonly exited: Promise<void>;
  #lineBuffer = '';

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    readonly serial: number,
  ) {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.stdout = (this.stdout + text).slice(-TAIL_BYTES);
      this.#countErrorLogs(text);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** What killed it: the first error line Node printed for an uncaught exception, or the exit status. */
  get crashSignature(): string {
    const line = /^[^\s:]*(?:Error|Exception)\b[^\n]*$/m.exec(this.stderr)?.[0];
    return line ?? `exit code ${String(this.exit?.code)} signal ${String(this.exit?.signal)}`;
  }

  /** The first stack frame in the gateway's own code, for the report. */
  get crashSite(): string | undefined {
    return /^\s+at .*\/src\/[^\n]*$/m.exec(this.stderr)?.[0]?.trim();
  }

  output(): string {
    return `--- child #${this.serial} (port ${this.port}) stderr ---\n${this.stderr.slice(-6000)}\n--- child #${this.serial} stdout (tail) ---\n${this.stdout.slice(-3000)}`;
  }

  /** Killed by the test (given up on, or at the end), not crashed. */
  killed = false;

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.killed = true;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  #countErrorLogs(text: string): void {
    const lines = (this.#lineBuffer + text).split('\n');
    this.#lineBuffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        if ((entry.level ?? 0) >= 50) this.errorLogs.set(entry.msg ?? '?', (this.errorLogs.get(entry.msg ?? '?') ?? 0) + 1);
      } catch {
        // not a log line
      }
    }
  }

  static async start(env: Record<string, string>, cwd: string, serial: number): Promise<GatewayChild> {
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const proc = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], { cwd, env: { ...env, LISTEN_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
      const child = new GatewayChild(proc, port, serial);
      liveChildren.add(child);
      void child.exited.then(() => liveChildren.delete(child));
      const started = Date.now();
      while (child.alive && Date.now() - started < CHILD_START_TIMEOUT_MS) {
        if ((await health(port, 1000)) === 'ok') return child;
        await sleep(50);
      }
      await child.kill();
      // The free port can be taken between choosing it and the child binding it.
      if (attempt < 3 && child.stderr.includes('EADDRINUSE')) continue;
      throw new Error(`the gateway child did not start\n${child.output()}`);
    }
  }
}

const liveChildren = new Set<GatewayChild>();
process.once('exit', () => {
  for (const child of liveChildren) child.proc.kill('SIGKILL');
});

/**
 * The running child and a started spare: when a request kills the child, the spare takes over at once, so one
 * crash does not cost the run a restart's time (and the rest of the run still finds other failures).
 */
class ChildPool {
  current!: GatewayChild;
  #spare: Promise<GatewayChild> | undefined;
  #swapping: Promise<void> | undefined;
  #serial = 0;
  readonly all: GatewayChild[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly cwd: string,
  ) {}

  async init(): Promise<void> {
    this.current = await this.#start();
    this.#spare = this.#start();
    this.#spare.catch(() => undefined);
  }

  #start(): Promise<GatewayChild> {
    this.#serial += 1;
    const started = GatewayChild.start(this.env, this.cwd, this.#serial);
    void started.then((child) => this.all.push(child), () => undefined);
    return started;
  }

  /** A running child: the current one, or the spare when the current one has died. */
  async live(): Promise<GatewayChild> {
    if (this.current.alive) return this.current;
    this.#swapping ??= (async () => {
      let next: GatewayChild | undefined;
      try {
        next = await (this.#spare ?? this.#start());
      } catch {
        next = undefined;
      }
      if (!next?.alive) next = await this.#start();
      this.current = next;
      this.#spare = this.#start();
      this.#spare.catch(() => undefined);
    })().finally(() => (this.#swapping = undefined));
    await this.#swapping;
    return this.current;
  }

  /**
   * Gives up on the current child (it no longer answers, or it has seen traffic that may still be killing it) and
   * takes the spare, which has seen nothing but health checks.
   */
  async replace(): Promise<GatewayChild> {
    await this.current.kill();
    return this.live();
  }

  async close(): Promise<void> {
    const spare = await this.#spare?.catch(() => undefined);
    await Promise.all([...this.all, ...(spare ? [spare] : [])].map((child) => child.kill()));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Raw-socket exchanges

type OutcomeKind = 'answered' | 'closed-without-answer' | 'timeout' | 'held' | 'closed-by-us' | 'refused';

interface Outcome {
  readonly kind: OutcomeKind;
  /** Final status codes seen (1xx interim answers left out), in order. */
  readonly statuses: readonly number[];
  /** Per final answer: it came from NetBox (the double's X-Request-ID, passed on by the gateway). */
  readonly fromNetbox: readonly boolean[];
  readonly started: number;
  readonly ended: number;
}

const openSockets = new Set<Socket>();

/** How many complete final answers `data` holds, and their statuses; stops at the first one not complete yet. */
function parseAnswers(data: Buffer, heads: readonly boolean[]): { statuses: number[]; fromNetbox: boolean[]; complete: number } {
  const statuses: number[] = [];
  const fromNetbox: boolean[] = [];
  let complete = 0;
  let pos = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (end === -1) break;
    const head = data.toString('latin1', pos, end);
    const match = /^HTTP\/\d\.\d (\d{3})/.exec(head);
    if (!match) break;
    const status = Number(match[1]);
    let at = end + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      pos = at;
      continue;
    }
    statuses.push(status);
    const headers = head.toLowerCase();
    fromNetbox.push(headers.includes('\r\nx-request-id:'));
    const length = /\r\ncontent-length: *(\d+)/.exec(headers)?.[1];
    if (heads[statuses.length - 1] || status === 204 || status === 304 || status === 101) {
      // no body
    } else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(headers)) {
      let done = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', at, 'latin1');
        if (lineEnd === -1) break;
        const size = parseInt(data.toString('latin1', at, lineEnd).split(';', 1)[0] ?? '', 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const trailerEnd = data.subarray(lineEnd + 2, lineEnd + 4).toString('latin1') === '\r\n' ? lineEnd + 4 : data.indexOf('\r\n\r\n', lineEnd, 'latin1') + 4;
          if (trailerEnd >= 4) {
            at = trailerEnd;
            done = true;
          }
          break;
        }
        if (lineEnd + 2 + size + 2 > data.length) break;
        at = lineEnd + 2 + size + 2;
      }
      if (!done) break;
    } else if (length !== undefined) {
      if (at + Number(length) > data.length) break;
      at += Number(length);
    } else {
      // Until the connection closes.
      break;
    }
    complete += 1;
    pos = at;
  }
  return { statuses, fromNetbox, complete };
}

function exchange(port: number, request: FuzzRequest, answerTimeoutMs = ANSWER_TIMEOUT_MS, holdMs = HOLD_MS): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    openSockets.add(socket);
    let data = Buffer.alloc(0);
    let statuses: number[] = [];
    let fromNetbox: boolean[] = [];
    let settled = false;
    let refused = false;
    const finish = (kind: OutcomeKind) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      openSockets.delete(socket);
      resolve({ kind, statuses, fromNetbox, started, ended: Date.now() });
    };
    const timer = setTimeout(() => finish(request.answers > 0 ? 'timeout' : statuses.length > 0 ? 'answered' : 'held'), request.answers > 0 ? answerTimeoutMs : holdMs);
    socket.on('data', (chunk: Buffer) => {
      if (data.length < 1_000_000) data = Buffer.concat([data, chunk]);
      const parsed = parseAnswers(data, request.heads);
      statuses = parsed.statuses;
      fromNetbox = parsed.fromNetbox;
      if (request.answers > 0 && parsed.complete >= request.answers) finish('answered');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') refused = true;
    });
    socket.on('close', () => finish(refused ? 'refused' : statuses.length > 0 ? 'answered' : 'closed-without-answer'));
    socket.once('connect', () => {
      void (async () => {
        for (const [i, chunk] of request.writes.entries()) {
          if (settled || socket.destroyed) return;
          if (chunk.length > 0) socket.write(chunk);
          if (i < request.writes.length - 1) await sleep(1);
        }
        if (request.after === 'end') socket.end();
        else if (request.after === 'destroy') finish('closed-by-us');
        else if (request.after === 'reset') {
          socket.resetAndDestroy();
          finish('closed-by-us');
        }
      })();
    });
  });
}

const HEALTH_REQUEST: FuzzRequest = {
  id: 0,
  labels: [],
  writes: [Buffer.from('GET /-/health HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n')],
  after: 'wait',
  answers: 1,
  heads: [false],
};

/** `ok`, or what happened instead, for GET /-/health over a fresh socket within `timeoutMs`. */
async function health(port: number, timeoutMs: number): Promise<'ok' | string> {
  const outcome = await exchange(port, HEALTH_REQUEST, timeoutMs);
  return outcome.kind === 'answered' && outcome.statuses[0] === 200 ? 'ok' : `${outcome.kind} ${outcome.statuses.join(',')}`.trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Counting and failures

interface Failure {
  readonly key: string;
  count: number;
  readonly first: string;
}

interface RunRecord {
  readonly request: FuzzRequest;
  readonly batch: number;
  outcome?: Outcome;
  started?: number;
  /** The child it was sent to. */
  child?: number;
}

class Tally {
  readonly sentByCategory = new Map<string, number>();
  readonly sentByLabel = new Map<string, number>();
  readonly statuses = new Map<number, number>();
  readonly outcomes = new Map<string, number>();
  readonly unansweredSamples: string[] = [];
  sent = 0;
  readonly signedInByUser = new Map<string, number>();
  /** Answers to signed-in requests by status class, and those of them that came from NetBox. */
  readonly signedInClasses = new Map<string, number>();
  readonly signedInNetboxClasses = new Map<string, number>();

  get signedInSent(): number {
    return [...this.signedInByUser.values()].reduce((a, b) => a + b, 0);
  }

  request(request: FuzzRequest, outcome: Outcome): void {
    this.sent += 1;
    if (request.session) {
      bump(this.signedInByUser, request.session.user);
      outcome.statuses.forEach((status, i) => {
        bump(this.signedInClasses, `${String(status)[0]}xx`);
        if (outcome.fromNetbox[i]) bump(this.signedInNetboxClasses, `${String(status)[0]}xx`);
      });
    }
    const categories = new Set<string>();
    for (const label of request.labels) {
      if (label.startsWith('pipelined-')) continue;
      categories.add(label.split(':', 1)[0]!);
      bump(this.sentByLabel, label);
    }
    for (const category of categories) bump(this.sentByCategory, category);
    for (const status of outcome.statuses) bump(this.statuses, status);
    bump(this.outcomes, outcome.kind);
    if (outcome.kind === 'timeout' && this.unansweredSamples.length < 8) {
      this.unansweredSamples.push(`#${request.id} [${request.labels.join(' ')}] ${showBytes(Buffer.concat([...request.writes]), 300)}`);
    }
  }
}

function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

const describeRequest = (request: FuzzRequest, max = 400) =>
  `#${request.id} [${request.labels.join(' ')}] after=${request.after}${request.session ? ` (${SESSION_PLACEHOLDER} is ${request.session.user}'s ${GATEWAY_COOKIE} cookie)` : ''}\n      ${showBytes(Buffer.concat([...request.writes]), max)}`;

const classesOf = (map: ReadonlyMap<string, number>) =>
  [...map]
    .sort()
    .map(([c, n]) => `${c} ${n}`)
    .join(', ') || 'none';

const firstValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Signs `user` in on the child's form as a browser does; the gateway cookie's value as the browser got it. */
async function signInOn(child: GatewayChild, user: string): Promise<{ cookie: string; probe: Record<string, unknown> }> {
  const browser = new CookieBrowser(`http://127.0.0.1:${child.port}`);
  const answer = await signIn(browser, user, STACK_USERS[user]!.password);
  const cookie = browser.cookies.get(GATEWAY_COOKIE);
  if (answer.status !== 303 || cookie === undefined) throw new Error(`signing ${user} in on child #${child.serial} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  // What the gateway sends NetBox for this user, on a clean request (judged with the rest in checkDouble).
  const probe = await browser.get('/__double__/headers', { 'X-Fuzz-Probe': user });
  if (probe.status !== 200) throw new Error(`${user}'s first request through child #${child.serial} answered ${probe.status}: ${probe.body.slice(0, 300)}`);
  return { cookie, probe: (JSON.parse(probe.body) as { headers: Record<string, unknown> }).headers };
}

/** Whether `cookie` is still a signed-in gateway session on the child: /-/login sends a signed-in user on (303). */
async function stillSignedIn(child: GatewayChild, cookie: string): Promise<boolean> {
  const answer = await fetch(`http://127.0.0.1:${child.port}/-/login`, { headers: { Cookie: `${GATEWAY_COOKIE}=${cookie}` }, redirect: 'manual' });
  await answer.arrayBuffer();
  return answer.status === 303;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

interface Mode {
  readonly name: 'password' | 'remote-user';
  readonly salt: number;
  readonly env: Record<string, string>;
  readonly remoteAuth: boolean;
  /** Header names that carry identity to NetBox in this configuration (besides every `remote-user*` spelling). */
  readonly identityHeaders: readonly string[];
}

const MODES: readonly Mode[] = [
  { name: 'password', salt: 0x0000_0001, env: {}, remoteAuth: false, identityHeaders: ['Remote-User', 'Remote-User-Group'] },
  {
    name: 'remote-user',
    salt: 0x9e37_79b9,
    env: { NETBOX_SESSION_MODE: 'remote-user', REMOTE_USER_HEADER: 'X-Netbox-User' },
    remoteAuth: true,
    identityHeaders: ['X-Netbox-User', 'Remote-User-Group'],
  },
];

describe.each(MODES)('malformed requests over raw sockets ($name mode)', (mode) => {
  let netbox: NetboxDouble;
  let radius: { close(): Promise<void> } | undefined;
  let pool: ChildPool;
  let cwd: string;
  let serviceAuthorization: string;
  const seed = (SEED ^ mode.salt) >>> 0;
  /** Every NetBox session key the double issued, by user name, and when NetBox ended each one it ended. */
  const issuedKeys = new Map<string, Set<string>>();
  const sessionEndedAt = new Map<string, number>();

  beforeAll(async () => {
    netbox = await startNetboxDouble(mode.remoteAuth ? { remoteAuth: { enabled: true, header: 'X-Netbox-User', autoCreateUser: false } } : {});
    netbox.state.addUser({ username: 'admin', isSuperuser: true });
    const state = netbox.state;
    const openSession = state.openSession.bind(state);
    state.openSession = (userId, backend) => {
      const session = openSession(userId, backend);
      const name = state.user(userId)?.username ?? `#${userId}`;
      issuedKeys.set(name, (issuedKeys.get(name) ?? new Set()).add(session.key));
      return session;
    };
    const deleteSession = state.sessions.delete.bind(state.sessions);
    state.sessions.delete = (key: string) => {
      if (state.sessions.has(key) && !sessionEndedAt.has(key)) sessionEndedAt.set(key, Date.now());
      return deleteSession(key);
    };
    const radiusServer = new RadiusTestServer({ secret: RADIUS_SECRET, users: STACK_USERS });
    const radiusRunning = await radiusServer.start({ host: '127.0.0.1', port: 0 });
    radius = radiusRunning;
    const { value: token, authorization } = netbox.state.addServiceToken(1);
    serviceAuthorization = authorization;
    cwd = mkdtempSync(join(tmpdir(), 'nbgw-fuzz-'));
    pool = new ChildPool(
      {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        LISTEN_HOST: '127.0.0.1',
        NETBOX_URL: netbox.url,
        NETBOX_TOKEN: token,
        SESSION_SECRET: 'fuzz-session-secret-0123456789abcdef',
        SESSION_STORE: 'memory',
        AAA_LOGIN_TIMEOUT: '3',
        NETBOX_TIMEOUT: '2',
        RADIUS_SERVERS: `127.0.0.1:${radiusRunning.port}`,
        RADIUS_SECRET,
        RADIUS_TIMEOUT: '0.3',
        RADIUS_RETRIES: '1',
        LOG_LEVEL: 'warn',
        ...mode.env,
      },
      cwd,
    );
    await pool.init();
  }, 60_000);

  afterAll(async () => {
    for (const socket of openSockets) socket.destroy();
    await pool?.close();
    await radius?.close();
    await netbox?.close();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  }, 30_000);

  it(`survives ${REQUESTS_PER_MODE} generated requests, and nothing reaches NetBox without a session`, { timeout: SEND_BUDGET_MS + 30_000 }, async () => {
    const started = Date.now();
    console.log(`[fuzz ${mode.name}] seed ${hex(SEED)} (this mode: ${hex(seed)}); replay with FUZZ_SEED=${hex(SEED)}`);
    const requests = generateRequests(seed, REQUESTS_PER_MODE, 1, { share: SIGNED_IN_SHARE, users: SIGNED_IN_USERS });
    const byId = new Map(requests.map((r) => [r.id, r]));
    const records: RunRecord[] = [];
    const tally = new Tally();
    const failures = new Map<string, Failure>();
    const investigated = new Set<string>();
    const seenCrashes = new Set<GatewayChild>();
    let doubleCursor = 0;
    let uploadCursor = 0;
    const recordedUploads = () => netbox.state.requests.filter((r) => r.path.startsWith('/__double__/body')).length;
    let replayMs = 0;
    const doubleSeen = { total: 0, ownChecks: 0, tokenChecks: 0, static: 0, other: 0 };
    /** What the double saw from signed-in messages (and the sign-in probes): with the user's NetBox session or without. */
    const signedInSeen = { total: 0, probes: 0, withSession: 0, withSessionNonStatic: 0, withoutSession: 0, methods: new Map<string, number>() };

    const fail = (key: string, detail: () => string) => {
      const known = failures.get(key);
      if (known) known.count += 1;
      else failures.set(key, { key, count: 1, first: detail() });
    };

    /**
     * The double records `req.originalUrl`: the request target exactly as it arrived from the gateway (after whatever
     * the proxy did to it), undecoded, and the headers as Node parsed them. That is what NetBox would have seen.
     */
    const checkDouble = (batch: number) => {
      const fresh = netbox.state.requests.slice(doubleCursor);
      doubleCursor += fresh.length;
      // Nothing here sends the upload endpoint a body but the signed-in chunked DELETE/OPTIONS requests, refused with 411.
      for (const upload of netbox.state.uploads.slice(uploadCursor)) {
        fail('reached NetBox: an upload to /__double__/body', () => `seed ${hex(SEED)}, ${mode.name} mode, batch ${batch}: ${JSON.stringify(upload)} (see the ${recordedUploads()} requests to /__double__/body)`);
      }
      uploadCursor = netbox.state.uploads.length;
      for (const recorded of fresh) {
        doubleSeen.total += 1;
        const headers = recorded.headers;
        const signedInAs = firstValue(headers[SIGNED_IN_HEADER]) ?? firstValue(headers[PROBE_HEADER]);
        // The gateway's own requests: start-up and readiness checks and provisioning with its service token, and the
        // NetBox logins of sign-in. They go straight to NetBox, without the forwarding headers every proxied request has.
        if (
          headers['x-forwarded-for'] === undefined &&
          headers['x-real-ip'] === undefined &&
          headers[FUZZ_ID_HEADER] === undefined &&
          signedInAs === undefined &&
          (headers['authorization'] === serviceAuthorization || /^\/log(in|out)\//.test(recorded.path))
        ) {
          doubleSeen.ownChecks += 1;
          continue;
        }
        if (recorded.method === 'GET' && recorded.path === '/api/users/config/') doubleSeen.tokenChecks += 1;
        else if (recorded.path.startsWith('/static/')) doubleSeen.static += 1;
        else doubleSeen.other += 1;
        // A proxy that took a DELETE/OPTIONS as empty would send its chunked body after it, as the next request.
        if (headers[CHUNKED_DELETE_HEADER] !== undefined || ((recorded.method === 'DELETE' || recorded.method === 'OPTIONS') && headers['transfer-encoding'] !== undefined)) {
          fail(`reached NetBox: ${recorded.method} with a chunked body`, () => leakDetail(recorded, `${recorded.method} ${recorded.path}`, batch));
        }
        if (recorded.path.includes(SMUGGLED_MARK) || headers[`x-${SMUGGLED_MARK}`] !== undefined) {
          fail('reached NetBox: a request smuggled in a chunked body', () => leakDetail(recorded, `${recorded.method} ${recorded.path}`, batch));
        }
        if (signedInAs === undefined) {
          for (const violation of violationsOf(recorded, mode.identityHeaders, PEER)) {
            fail(`reached NetBox: ${violation.reason}`, () => leakDetail(recorded, violation.detail, batch));
          }
          continue;
        }
        signedInSeen.total += 1;
        bump(signedInSeen.methods, recorded.method);
        const cookieHeader = headers['cookie'];
        const sessionid = parseDjangoCookies(Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader)['sessionid'];
        if (sessionid === undefined) signedInSeen.withoutSession += 1;
        else {
          signedInSeen.withSession += 1;
          if (!recorded.path.startsWith('/static/')) signedInSeen.withSessionNonStatic += 1;
        }
        const keys = issuedKeys.get(signedInAs) ?? new Set<string>();
        const violations = signedInViolationsOf(recorded, {
          user: signedInAs,
          peer: PEER,
          sessionKeys: keys,
          sessionEnded: [...keys].some((key) => (sessionEndedAt.get(key) ?? Infinity) <= recorded.at.getTime()),
          remoteUser: mode.remoteAuth ? { header: 'X-Netbox-User', groupHeader: 'Remote-User-Group', groups: groupHeaderOf.get(signedInAs) } : undefined,
          identityHeaders: mode.identityHeaders,
        });
        if (headers[PROBE_HEADER] !== undefined) {
          signedInSeen.probes += 1;
          if (sessionid === undefined) violations.push({ reason: "signed-in: the sign-in probe reached NetBox without the user's session", detail: String(cookieHeader) });
        }
        for (const violation of violations) fail(`reached NetBox: ${violation.reason}`, () => leakDetail(recorded, violation.detail, batch));
      }
    };

    const leakDetail = (recorded: RecordedRequest, detail: string, batch: number) => {
      const idHeader = recorded.headers[FUZZ_ID_HEADER];
      const source = byId.get(Number(Array.isArray(idHeader) ? idHeader[0] : idHeader));
      const shown = Object.entries(recorded.headers)
        .filter(([name]) => /cookie|remote|user|host|forwarded|real-ip|expect|authorization|fuzz|connection|upgrade|keep-alive|^te$|trailer|transfer|_/i.test(name))
        .map(([name, value]) => `${name}: ${showBytes(Array.isArray(value) ? value.join(' | ') : String(value), 120)}`);
      return [
        `seed ${hex(SEED)}, ${mode.name} mode, batch ${batch}: ${showBytes(detail, 300)}`,
        `    NetBox double received: ${recorded.method} ${showBytes(recorded.path, 200)}`,
        `      ${shown.join('\n      ')}`,
        source ? `    sent by ${describeRequest(source)}` : recorded.headers[PROBE_HEADER] !== undefined ? '    sent by the sign-in probe (GET /__double__/headers)' : `    (no ${FUZZ_ID_HEADER} header: see the batch's requests)`,
      ].join('\n');
    };

    /** The users' gateway cookies on each child (by serial): signed in once per child, when a request first needs them. */
    const signedIn = new Map<number, Promise<ReadonlyMap<string, string>>>();
    /** The group header the gateway sent NetBox for each user on its sign-in probe (remote-user mode). */
    const groupHeaderOf = new Map<string, string | undefined>();
    let signIns = 0;
    let signInMs = 0;
    const sessionsOn = (child: GatewayChild): Promise<ReadonlyMap<string, string>> => {
      let known = signedIn.get(child.serial);
      if (known === undefined) {
        known = (async () => {
          const began = Date.now();
          const cookies = new Map<string, string>();
          for (const user of SIGNED_IN_USERS) {
            const { cookie, probe } = await signInOn(child, user);
            signIns += 1;
            cookies.set(user, cookie);
            const group = probe['remote-user-group'];
            groupHeaderOf.set(user, typeof group === 'string' ? group : undefined);
          }
          signInMs += Date.now() - began;
          return cookies;
        })();
        signedIn.set(child.serial, known);
        known.catch((error: unknown) => {
          if (signedIn.get(child.serial) === known) signedIn.delete(child.serial);
          if (child.alive) fail('signing in on a gateway child failed', () => `seed ${hex(SEED)}, ${mode.name} mode: ${String(error)}\n${child.output()}`);
        });
      }
      return known;
    };

    /** Sends a request to a child, a signed-in one with the user's gateway cookie on that child. */
    const send = async (child: GatewayChild, request: FuzzRequest, answerTimeoutMs?: number, holdMs?: number): Promise<Outcome> => {
      if (request.session === undefined) return exchange(child.port, request, answerTimeoutMs, holdMs);
      // A child that died while its users signed in gets a cookie it never issued; the request is retried on the next.
      const cookies = await sessionsOn(child).catch(() => undefined);
      return exchange(child.port, bindSession(request, cookies?.get(request.session.user) ?? 's%3Anot-signed-in'), answerTimeoutMs, holdMs);
    };

    /** Whether `child` has died: its exit seen, or no health answer and then its exit within a second. */
    const diedAfter = async (child: GatewayChild): Promise<boolean> => {
      if (child.alive && (await health(child.port, 1000)) === 'ok') return false;
      for (let i = 0; i < 20 && child.alive; i += 1) await sleep(50);
      return !child.alive;
    };

    /** Sends one request to a fresh child and watches it for a second: does this request alone kill it? */
    const killsAlone = async (request: FuzzRequest): Promise<boolean> => {
      const child = await pool.live();
      await send(child, request, 1000, 50);
      for (let i = 0; i < 10 && child.alive; i += 1) await sleep(100);
      if (child.alive) return false;
      seenCrashes.add(child);
      return true;
    };

    /**
     * Replays, in the order they were sent, the requests the dead child did not answer in full, one at a time on a
     * fresh child; when one of them is followed by a crash, that one and the two before it are tried alone (the
     * crash can come after the next request began).
     */
    const findCulprit = async (dead: GatewayChild): Promise<FuzzRequest | undefined> => {
      const candidates = records
        .filter((r) => r.child === dead.serial && r.outcome !== undefined && !(r.request.answers > 0 && r.outcome.kind === 'answered'))
        .sort((a, b) => (a.started ?? 0) - (b.started ?? 0))
        .slice(-150)
        .map((r) => r.request);
      const replayStarted = Date.now();
      try {
        // The batch's child (or the spare that took over from it) may be dying of the same requests already.
        await pool.replace();
        for (const [i, candidate] of candidates.entries()) {
          if (replayMs + (Date.now() - replayStarted) > REPLAY_BUDGET_MS) return undefined;
          const child = await pool.live();
          await send(child, candidate, 1000, 50);
          await sleep(20);
          if (!(await diedAfter(child))) continue;
          seenCrashes.add(child);
          for (const suspect of candidates.slice(Math.max(0, i - 2), i + 1).reverse()) {
            if (await killsAlone(suspect)) return suspect;
          }
          return undefined;
        }
        return undefined;
      } finally {
        replayMs += Date.now() - replayStarted;
      }
    };

    const noteCrash = async (dead: GatewayChild, batch: number, batchRecords: RunRecord[]) => {
      seenCrashes.add(dead);
      const key = `child exited: ${dead.crashSignature}`;
      const firstOfKind = !investigated.has(key);
      investigated.add(key);
      const culprit = firstOfKind ? await findCulprit(dead) : undefined;
      const lastSent = batchRecords
        .filter((r) => r.started !== undefined && r.started <= (dead.exit?.at ?? Infinity))
        .sort((a, b) => (b.started ?? 0) - (a.started ?? 0))
        .slice(0, 5);
      fail(key, () =>
        [
          `seed ${hex(SEED)}, ${mode.name} mode, batch ${batch}: the gateway child exited (code ${String(dead.exit?.code)}, signal ${String(dead.exit?.signal)})${dead.crashSite ? ` (${dead.crashSite})` : ''}`,
          culprit ? `    replayed alone, this request kills it: ${describeRequest(culprit, 600)}` : '    replaying the requests in flight one by one did not kill a fresh child; the last ones sent were:',
          ...(culprit ? [] : lastSent.map((r) => `    ${describeRequest(r.request)}`)),
          dead.output(),
        ].join('\n'),
      );
    };

    const batches = Math.ceil(requests.length / BATCH_SIZE);
    let batch = 0;
    try {
      await sessionsOn(await pool.live());
      for (; batch < batches; batch += 1) {
        if (Date.now() - started > SEND_BUDGET_MS) {
          fail('time budget exhausted', () => `seed ${hex(SEED)}, ${mode.name} mode: sent ${tally.sent} of ${requests.length} requests (${batch} of ${batches} batches) within ${SEND_BUDGET_MS} ms; ${seenCrashes.size} children crashed on the way, each costing a restart`);
          break;
        }
        const batchRecords: RunRecord[] = requests.slice(batch * BATCH_SIZE, (batch + 1) * BATCH_SIZE).map((request) => ({ request, batch }));
        records.push(...batchRecords);
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < batchRecords.length) {
              const record = batchRecords[next++]!;
              const child = await pool.live();
              record.started = Date.now();
              record.child = child.serial;
              record.outcome = await send(child, record.request);
              // Sent while a crashed child was being replaced: send it again to the one that took over.
              for (let retry = 0; retry < 2 && record.outcome.kind === 'refused'; retry += 1) {
                const takeover = await pool.live();
                record.started = Date.now();
                record.child = takeover.serial;
                record.outcome = await send(takeover, record.request);
              }
              tally.request(record.request, record.outcome);
            }
          }),
        );

        // Every child that died during this batch (the one it began with, and any spare that took over).
        for (const child of pool.all) {
          if (!child.alive && !child.killed && !seenCrashes.has(child)) await noteCrash(child, batch, batchRecords);
        }
        const child = await pool.live();
        const answer = await health(child.port, HEALTH_TIMEOUT_MS);
        if (answer !== 'ok') {
          if (!child.alive) {
            await noteCrash(child, batch, batchRecords);
          } else {
            const lastSent = [...batchRecords].sort((a, b) => (b.started ?? 0) - (a.started ?? 0)).slice(0, 5);
            fail('health check unanswered (hang)', () =>
              [`seed ${hex(SEED)}, ${mode.name} mode, batch ${batch}: GET /-/health got "${answer}" within ${HEALTH_TIMEOUT_MS} ms; last requests sent:`, ...lastSent.map((r) => `    ${describeRequest(r.request)}`), child.output()].join('\n'),
            );
            await pool.replace();
          }
        }
        // Nothing a client sends ends a session of someone else, and nothing the users sent here ends theirs.
        const current = pool.current;
        const cookies = current.alive ? await signedIn.get(current.serial)?.catch(() => undefined) : undefined;
        for (const [user, cookie] of cookies ?? []) {
          if (!current.alive || (await stillSignedIn(current, cookie).catch(() => true))) continue;
          const suspects = batchRecords.filter((r) => r.request.session?.user === user && Buffer.concat([...r.request.writes]).toString('latin1').includes('/-/')).slice(0, 5);
          fail(`a user's gateway session ended`, () =>
            [`seed ${hex(SEED)}, ${mode.name} mode, batch ${batch}: ${user} is no longer signed in on child #${current.serial}; ${user}'s requests to /-/ in this batch:`, ...suspects.map((r) => `    ${describeRequest(r.request)}`)].join('\n'),
          );
          signedIn.delete(current.serial);
        }
        checkDouble(batch);
      }
      // Proxied requests can still be on their way when their client has gone.
      await sleep(300);
      checkDouble(batch);
    } finally {
      const duration = Date.now() - started;
      const errorLogs = new Map<string, number>();
      for (const child of pool.all) for (const [message, count] of child.errorLogs) bump(errorLogs, message, count);
      const classes = (prefix: string) =>
        [...tally.sentByLabel]
          .filter(([label]) => label.startsWith(`${prefix}:`))
          .sort((a, b) => b[1] - a[1])
          .map(([label, count]) => `${label.slice(prefix.length + 1)} ${count}`)
          .join(', ');
      const statusClasses = new Map<string, number>();
      for (const [status, count] of tally.statuses) bump(statusClasses, `${String(status)[0]}xx`, count);
      const lines = [
        `[fuzz ${mode.name}] seed ${hex(SEED)}: ${tally.sent} requests in ${batch} batches of ${BATCH_SIZE} (${CONCURRENCY} sockets), ${(duration / 1000).toFixed(1)} s`,
        `  sent by category: ${[...tally.sentByCategory].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`,
        ...['shape', 'host', 'method', 'target', 'header', 'framing', 'version', 'raw', 'session'].map((prefix) => `    ${prefix.padEnd(8)} ${classes(prefix)}`),
        `  answers by class: ${[...statusClasses].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`,
        `  answers by status: ${[...tally.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s} ${n}`).join(', ')}`,
        `  exchanges: ${['answered', 'closed-without-answer', 'timeout', 'held', 'closed-by-us', 'refused'].map((k) => `${k} ${tally.outcomes.get(k) ?? 0}`).join(', ')}`,
        `  NetBox double saw ${doubleSeen.total} requests: the gateway's own (status checks, sign-in) ${doubleSeen.ownChecks}, token checks ${doubleSeen.tokenChecks}, /static/ ${doubleSeen.static}, other ${doubleSeen.other}`,
        `  signed in: ${tally.signedInSent} requests sent with a gateway cookie (${[...tally.signedInByUser].sort().map(([u, n]) => `${u} ${n}`).join(', ')}); ${signIns} sign-ins in ${(signInMs / 1000).toFixed(1)} s`,
        `    answers by class: ${classesOf(tally.signedInClasses)}; of them from NetBox: ${classesOf(tally.signedInNetboxClasses)}`,
        `    NetBox saw ${signedInSeen.total} signed-in requests (${signedInSeen.probes} sign-in probes): with the user's session ${signedInSeen.withSession} (not /static/ ${signedInSeen.withSessionNonStatic}), without (handled as anonymous) ${signedInSeen.withoutSession}; methods ${[...signedInSeen.methods].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ')}`,
        `  gateway children: ${pool.all.length} started, ${seenCrashes.size} crashed; error log lines: ${[...errorLogs].map(([m, n]) => `"${m}" ${n}`).join(', ') || 'none'}`,
        ...(tally.unansweredSamples.length > 0 ? ['  complete requests without all answers in 2 s (samples):', ...tally.unansweredSamples.map((s) => `    ${s}`)] : []),
        `  failure classes: ${failures.size}${[...failures.values()].map((f) => `\n    ${f.count} x ${f.key}`).join('')}`,
      ];
      console.log(lines.join('\n'));
    }
    if (failures.size > 0) {
      throw new Error(
        `${failures.size} failure class(es) with FUZZ_SEED=${hex(SEED)} (${mode.name} mode):\n\n${[...failures.values()].map((f) => `== ${f.key} (${f.count}x)\n${f.first}`).join('\n\n')}`,
      );
    }
  });
});
