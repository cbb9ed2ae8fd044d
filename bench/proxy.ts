/**
 * The proxy path against nginx: the same local upstream (a 10 KB page, a 2 KB JSON body) reached directly, through
 * nginx with NetBox's sample configuration (when `nginx` is on PATH), and through the gateway with a signed-in
 * session, on the SQLite store, the memory store and (when redis-server is on PATH) the Redis store, a local
 * redis-server. Each in its own process; rounds alternate between
 * the paths and the median of the rounds is printed. Then the SQLite gateway is filled with live sessions and its
 * RSS and latency are measured again. A benchmark, not a test: it prints figures and its targets, and exits 0
 * whatever they are (a failure to run at all exits 1).
 *
 *   npm run bench:proxy -- [--duration 5] [--rounds 3] [--sessions 10000] [--load wrk|autocannon] [--profile] [--no-pin] [--hold]
 *                       [--gateway-node-options '--max-semi-space-size=4']
 *
 * The load generator is wrk when it is on PATH (it costs the machine least), autocannon otherwise. With two cores or
 * more and `taskset` (util-linux), the proxies (nginx's one worker, each gateway) run on one core and the upstream
 * and the load generator on another, so that neither proxy is measured fighting the load for its core; --no-pin
 * leaves scheduling to the kernel. --profile runs the SQLite gateway under `node --cpu-prof` and prints the
 * functions it spent most of its time in. --hold starts everything, signs in, prints a wrk command and waits for Ctrl+C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { silentLogger } from '../src/log.js';
import { newSessionId, signedCookieValue, verifiedSessionId } from '../src/session/session-id.js';
import { SqliteSessionStore } from '../src/session/sqlite-store.js';
import { CookieBrowser } from '../test/netbox-double/browser.js';
import { freePort } from '../test/support/free-port.js';
import { signIn } from '../test/support/gateway-form.js';
import { GatewayProcess } from '../test/support/gateway-process.js';
import { RadiusTestServer } from '../test/support/radius-server.js';
import { RedisTestServer } from '../test/support/redis-server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const PAGE_PATH = '/bench/page/';
const API_PATH = '/bench/api/';
const SECRET = 'bench-radius-secret-0123456789';
const SESSION_SECRET = `bench-${randomBytes(24).toString('hex')}`;
const COOKIE_NAME = 'nbgw_session';
const ALICE = { name: 'alice', password: 'alice-Passw0rd' };
const SESSION_LIFETIMES = { idleTimeoutMs: 8 * 3600_000, maxAgeMs: 24 * 3600_000 };

const options = parseArguments(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'nbgw-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  // SIGTERM, not SIGKILL: nginx's master takes its worker down with it only when it is asked.
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

interface Measurement {
  readonly rps: number;
  /** Microseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** CPU time the proxying process spent per request, microseconds (when it is one of ours). */
  readonly cpuPerRequest?: number;
}

interface Path {
  readonly name: string;
  readonly url: string | undefined;
  readonly cookie?: string;
  /** The proxying process, for its CPU time. */
  readonly pid?: number;
  /** Why it has no figures. */
  readonly missing?: string;
}

const started = Date.now();
const pinned = options.pin && availableParallelism() >= 2 && onPath('taskset');
/** Core 1 for the proxies, core 0 for the rest (this process, which may be the load generator, and the upstream). */
const pin = (pid: number | undefined, core: 0 | 1): void => {
  if (pinned && pid !== undefined) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
};
pin(process.pid, 0);
// The gateway runs as the image runs it, built: the sources through tsx would add tsx's loader to its RSS. The
// build goes to the scratch folder, laid out as in the image, so that it never races another build of dist/.
const built = join(work, 'gateway');
if (spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(built, 'dist')], { stdio: 'inherit' }).status !== 0) {
  throw new Error('the build failed');
}
for (const name of ['package.json', 'node_modules', 'views', 'public']) symlinkSync(join(REPO, name), join(built, name));
const upstream = await startUpstream();
const radius = await new RadiusTestServer({ secret: SECRET, users: { [ALICE.name]: { password: ALICE.password, attributes: [['Class', 'netbox-admin']] } } }).start({ host: '127.0.0.1', port: 0 });
const nginx = await startNginx(upstream.url);
const sqlitePath = join(work, 'gateway.sqlite');
const gatewaySqlite = await startGateway({ SESSION_STORE: 'sqlite', SESSION_SQLITE_PATH: sqlitePath }, options.profile);
const gatewayMemory = await startGateway({ SESSION_STORE: 'memory' }, false);
// Redis as the replicas would share it: its own process, beside the upstream on the load's core.
const redisServer = onPath('redis-server') ? await RedisTestServer.start() : undefined;
pin(redisServer?.pid, 0);
const gatewayRedis = redisServer === undefined ? undefined : await startGateway({ SESSION_STORE: 'redis', REDIS_URL: redisServer.url }, false);
const rssAtStart = rss(gatewaySqlite.gateway);

const firstLogin = await signInAndCount(gatewaySqlite.url);
const repeatLogin = await signInAndCount(gatewaySqlite.url);
await signInAndCount(gatewayMemory.url);
const sqliteCookie = repeatLogin.cookie;
const memoryCookie = (await signInAndCount(gatewayMemory.url)).cookie;
const redisCookie = gatewayRedis === undefined ? undefined : (await signInAndCount(gatewayRedis.url)).cookie;

if (options.hold) {
  // For looking at the gateway by hand (strace, perf, a profiler): the stack stays up until Ctrl+C.
  process.stdout.write(`holding: gateway (SQLite) ${gatewaySqlite.url} pid ${gatewaySqlite.gateway.proc.pid}, upstream ${upstream.url}\n  wrk -c16 -d10s -H '${sqliteCookie}' ${gatewaySqlite.url}${PAGE_PATH}\n`);
  await new Promise((resolve) => process.once('SIGINT', resolve));
  await stopAll();
  process.exit(0);
}

const paths: Path[] = [
  { name: 'upstream direct', url: upstream.url },
  nginx.url === undefined ? { name: 'nginx', url: undefined, missing: nginx.missing } : { name: 'nginx', url: nginx.url },
  { name: 'gateway, SQLite store', url: gatewaySqlite.url, cookie: sqliteCookie, pid: gatewaySqlite.gateway.proc.pid },
  { name: 'gateway, memory store', url: gatewayMemory.url, cookie: memoryCookie, pid: gatewayMemory.gateway.proc.pid },
  gatewayRedis === undefined || redisCookie === undefined
    ? { name: 'gateway, Redis store', url: undefined, missing: 'redis-server not installed' }
    : { name: 'gateway, Redis store', url: gatewayRedis.url, cookie: redisCookie, pid: gatewayRedis.gateway.proc.pid },
];
const viaRedisName = 'gateway, Redis store';
const loadGenerator = options.load ?? (onPath('wrk') ? 'wrk' : 'autocannon');

process.stdout.write(
  `proxy benchmark: ${options.rounds} alternating rounds of ${options.duration} s per measurement, load from ${loadGenerator}, node ${process.version}, ` +
    `${paths.filter((p) => p.url).length} paths, ${pinned ? 'proxies on core 1, upstream and load on core 0' : 'not pinned to cores'}\n`,
);
for (const path of paths) if (path.url) await measure(path, PAGE_PATH, 16, Math.min(2, options.duration));

const results = new Map<string, { page16: Measurement[]; page1: Measurement[]; api16: Measurement[] }>();
for (let round = 1; round <= options.rounds; round += 1) {
  for (const path of paths) {
    if (!path.url) continue;
    const entry = results.get(path.name) ?? { page16: [], page1: [], api16: [] };
    results.set(path.name, entry);
    entry.page16.push(await measure(path, PAGE_PATH, 16));
    entry.page1.push(await measure(path, PAGE_PATH, 1));
    entry.api16.push(await measure(path, API_PATH, 16));
  }
  process.stdout.write(`  round ${round} done\n`);
}

const summary = new Map([...results].map(([name, entry]) => [name, { page16: median(entry.page16), page1: median(entry.page1), api16: median(entry.api16) }]));
const direct = summary.get('upstream direct');
const viaNginx = summary.get('nginx');
const viaGateway = summary.get('gateway, SQLite store');
if (!direct || !viaGateway) throw new Error('the direct and gateway paths have no figures');

const rows = paths.map((path) => {
  const figures = summary.get(path.name);
  if (!figures) return `| ${path.name} | ${path.missing ?? 'not measured'} | | | | | | |`;
  const cpu = figures.page16.cpuPerRequest === undefined ? '—' : `${Math.round(figures.page16.cpuPerRequest)} µs`;
  const added = path.name === 'upstream direct' ? ['—', '—'] : [ms(figures.page1.p50 - direct.page1.p50, true), ms(figures.page1.p99 - direct.page1.p99, true)];
  return `| ${path.name} | ${int(figures.page16.rps)} | ${ms(figures.page16.p50)} / ${ms(figures.page16.p90)} / ${ms(figures.page16.p99)} | ${int(figures.api16.rps)} | ${ms(figures.page1.p50)} / ${ms(figures.page1.p90)} / ${ms(figures.page1.p99)} | ${added[0]} | ${added[1]} | ${cpu} |`;
});
process.stdout.write(`
| path | 10 KB req/s, c=16 | 10 KB p50 / p90 / p99, c=16 | 2 KB JSON req/s, c=16 | 10 KB p50 / p90 / p99, c=1 | added p50, c=1 | added p99, c=1 | gateway CPU per request, c=16 |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

gateway (SQLite) / direct: ${ratio(viaGateway.page16.rps, direct.page16.rps)} req/s on the 10 KB page, ${ratio(viaGateway.api16.rps, direct.api16.rps)} on the 2 KB JSON
gateway (SQLite) / nginx:  ${viaNginx ? `${ratio(viaGateway.page16.rps, viaNginx.page16.rps)} req/s on the 10 KB page, ${ratio(viaGateway.api16.rps, viaNginx.api16.rps)} on the 2 KB JSON` : nginx.missing}
gateway memory / SQLite:   ${ratio(summary.get('gateway, memory store')?.page16.rps ?? 0, viaGateway.page16.rps)} req/s on the 10 KB page
gateway Redis / SQLite:    ${summary.has(viaRedisName) ? `${ratio(summary.get(viaRedisName)?.page16.rps ?? 0, viaGateway.page16.rps)} req/s on the 10 KB page` : 'redis-server not installed'}
a first login cost NetBox ${firstLogin.netboxRequests} requests, a repeat login ${repeatLogin.netboxRequests}
`);

const memory = await liveSessions(gatewaySqlite.gateway, gatewaySqlite.url, sqliteCookie);
process.stdout.write(`
SQLite store with ${options.sessions} live sessions (each used once through the gateway):
  RSS ${mb(rssAtStart)} at start, ${mb(memory.rssBefore)} after the rounds, ${mb(memory.rssAfter)} with the sessions
  p50 at c=1, one session: ${ms(memory.emptyP50)} before, ${ms(memory.fullOneP50)} after (${percent(memory.fullOneP50, memory.emptyP50)})
  p50 at c=1, every request another of the ${options.sessions} sessions: ${ms(memory.fullSpreadP50)} (${percent(memory.fullSpreadP50, memory.emptyP50)})
  a last-seen write in the store (a session's first request 30 s after the last one pays it): ${Math.round(memory.lastSeenWriteMicros)} µs
`);

const targets: [string, boolean | undefined, string][] = [
  ['gateway ≥ 0.25× nginx req/s, 10 KB, c=16', viaNginx ? viaGateway.page16.rps >= 0.25 * viaNginx.page16.rps : undefined, viaNginx ? ratio(viaGateway.page16.rps, viaNginx.page16.rps) : 'nginx not installed'],
  ['added p50 at c=1 ≤ 0.3 ms', viaGateway.page1.p50 - direct.page1.p50 <= 300, ms(viaGateway.page1.p50 - direct.page1.p50)],
  ['added p99 at c=1 ≤ 2 ms', viaGateway.page1.p99 - direct.page1.p99 <= 2000, ms(viaGateway.page1.p99 - direct.page1.p99)],
  [`RSS with ${options.sessions} sessions ≤ 150 MB`, memory.rssAfter <= 150 * 1024 * 1024, mb(memory.rssAfter)],
  [`p50 with ${options.sessions} sessions within 10% of the empty store`, memory.fullSpreadP50 <= memory.emptyP50 * 1.1, percent(memory.fullSpreadP50, memory.emptyP50)],
  ['a repeat login costs 4 NetBox requests', repeatLogin.netboxRequests === 4, String(repeatLogin.netboxRequests)],
  [
    'gateway req/s with the Redis store within 20% of SQLite, 10 KB, c=16',
    summary.has(viaRedisName) ? (summary.get(viaRedisName)?.page16.rps ?? 0) >= 0.8 * viaGateway.page16.rps : undefined,
    summary.has(viaRedisName) ? ratio(summary.get(viaRedisName)?.page16.rps ?? 0, viaGateway.page16.rps) : 'redis-server not installed',
  ],
];
process.stdout.write('\ntargets:\n');
for (const [name, met, figure] of targets) process.stdout.write(`  ${met === undefined ? 'n/a ' : met ? 'met ' : 'MISS'}  ${name}: ${figure}\n`);

await stopAll();
if (options.profile) printProfile(join(work, 'profile'));
process.stdout.write(`\n(${Math.round((Date.now() - started) / 1000)} s)\n`);
process.exit(0);

// ---------------------------------------------------------------------------------------------------------------

function parseArguments(args: readonly string[]): {
  duration: number;
  rounds: number;
  sessions: number;
  load: 'wrk' | 'autocannon' | undefined;
  profile: boolean;
  pin: boolean;
  hold: boolean;
  gatewayNodeOptions: string[];
} {
  const read = (name: string, fallback: number): number => {
    const at = args.indexOf(`--${name}`);
    const value = at === -1 ? fallback : Number(args[at + 1]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
    return value;
  };
  const loadAt = args.indexOf('--load');
  const load = loadAt === -1 ? undefined : args[loadAt + 1];
  if (load !== undefined && load !== 'wrk' && load !== 'autocannon') throw new Error('--load must be wrk or autocannon');
  return { duration: read('duration', 5), rounds: read('rounds', 3), sessions: read('sessions', 10_000), load, profile: args.includes('--profile'), pin: !args.includes('--no-pin'), hold: args.includes('--hold'),
    gatewayNodeOptions: args.includes('--gateway-node-options') ? (args[args.indexOf('--gateway-node-options') + 1] ?? '').split(' ').filter(Boolean) : [],
  };
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

async function startUpstream(): Promise<{ url: string; token: string }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(REPO, 'bench', 'upstream.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  pin(child.pid, 0);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const ready = JSON.parse(line) as { port: number; token: string };
    return { url: `http://127.0.0.1:${ready.port}`, token: ready.token };
  }
  throw new Error('the benchmark upstream did not start');
}

/** NetBox's sample nginx.conf (contrib/nginx.conf) on plain HTTP, with keep-alive to the upstream and one worker. */
async function startNginx(upstreamUrl: string): Promise<{ url?: string; missing?: string }> {
  if (!onPath('nginx')) return { missing: 'not installed' };
  const binary = 'nginx';
  const port = await freePort();
  const prefix = join(work, 'nginx');
  spawnSync('mkdir', ['-p', prefix]);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream netbox { server ${new URL(upstreamUrl).host}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 25m;
    location / {
      proxy_pass http://netbox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  // Pinned from the start, so that the worker nginx forks inherits the core.
  const command = [binary, '-p', prefix, '-c', conf, '-e', `${prefix}/error.log`];
  const child = pinned ? spawn('taskset', ['-c', '1', ...command], { stdio: 'ignore' }) : spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; tries < 100; tries += 1) {
    if (child.exitCode !== null) return { missing: `did not start (exit ${child.exitCode}, see ${prefix}/error.log)` };
    if ((await status(`${url}${PAGE_PATH}`)) === 200) return { url };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { missing: 'did not answer' };
}

async function startGateway(env: Record<string, string>, profile: boolean): Promise<{ url: string; gateway: GatewayProcess }> {
  const nodeOptions = [...options.gatewayNodeOptions, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profile')}`] : [])];
  const { gateway, url } = await GatewayProcess.start(
    {
      NETBOX_URL: upstream.url,
      NETBOX_TOKEN: upstream.token,
      SESSION_SECRET,
      RADIUS_SERVERS: `127.0.0.1:${radius.port}`,
      RADIUS_SECRET: SECRET,
      DEFAULT_GROUPS: 'netbox-users',
      ...env,
    },
    30_000,
    { nodeOptions, builtMain: join(built, 'dist', 'main.js') },
  );
  children.push(gateway.proc);
  pin(gateway.proc.pid, 1);
  return { url, gateway };
}

async function doubleRequests(): Promise<number> {
  const response = await fetch(`${upstream.url}/__bench__/double-requests`);
  return ((await response.json()) as { count: number }).count;
}

/** Signs alice in with a fresh browser; returns the gateway cookie and how many requests the sign-in sent NetBox. */
async function signInAndCount(gatewayUrl: string): Promise<{ cookie: string; netboxRequests: number }> {
  const browser = new CookieBrowser(gatewayUrl);
  const page = await browser.get(`/-/login?next=${encodeURIComponent(PAGE_PATH)}`);
  if (page.status !== 200) throw new Error(`the login page answered ${page.status}`);
  const before = await doubleRequests();
  const answer = await signIn(browser, ALICE.name, ALICE.password, PAGE_PATH);
  const after = await doubleRequests();
  const value = browser.cookies.get(COOKIE_NAME);
  if (answer.status !== 303 || answer.location !== PAGE_PATH || value === undefined) throw new Error(`the sign-in failed: ${answer.status} ${answer.body.slice(0, 200)}`);
  const cookie = `${COOKIE_NAME}=${value}`;
  if ((await status(`${gatewayUrl}${PAGE_PATH}`, cookie)) !== 200) throw new Error('the signed-in session does not reach the page');
  // The login page itself costs NetBox nothing; counting from before it would include the GET.
  return { cookie, netboxRequests: after - before };
}

function status(url: string, cookie?: string, agent?: Agent): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, { headers: cookie ? { cookie } : {}, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(0));
  });
}

async function measure(path: Path, target: string, connections: number, seconds = options.duration): Promise<Measurement> {
  const url = `${path.url}${target}`;
  const headers: Record<string, string> = path.cookie ? { cookie: path.cookie } : {};
  const cpuBefore = path.pid === undefined ? 0 : cpuMicros(path.pid);
  const figures = await (loadGenerator === 'wrk' ? wrk(url, connections, seconds, headers) : autocannonRun(url, connections, seconds, headers));
  if (path.pid === undefined) return figures;
  return { ...figures, cpuPerRequest: (cpuMicros(path.pid) - cpuBefore) / (figures.rps * seconds) };
}

/** User and system CPU time of a process so far (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** wrk with one thread (the servers get the rest of the machine) and a script that prints figures as JSON. */
function wrk(url: string, connections: number, seconds: number, headers: Record<string, string>, cookieFile?: string): Promise<Measurement> {
  const script = join(work, 'wrk.lua');
  writeFileSync(
    script,
    `${cookieFile ? `local cookies = {}\nfor line in io.lines("${cookieFile}") do cookies[#cookies + 1] = line end\nlocal next_cookie = 0\nrequest = function()\n  next_cookie = next_cookie % #cookies + 1\n  return wrk.format(nil, nil, { Cookie = cookies[next_cookie] })\nend\n` : ''}` +
      'done = function(summary, latency, requests)\n' +
      '  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout\n' +
      '  io.write(string.format(\'{"requests":%d,"seconds":%f,"errors":%d,"p50":%d,"p90":%d,"p99":%d}\\n\', summary.requests, summary.duration / 1e6, errors, latency:percentile(50), latency:percentile(90), latency:percentile(99)))\n' +
      'end\n',
  );
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
      if (code !== 0 || line === undefined) return reject(new Error(`wrk failed (${code}): ${output}`));
      const figures = JSON.parse(line) as { requests: number; seconds: number; errors: number; p50: number; p90: number; p99: number };
      if (figures.errors > 0) return reject(new Error(`${url}: ${figures.errors} failed requests under load`));
      resolve({ rps: figures.requests / figures.seconds, p50: figures.p50, p90: figures.p90, p99: figures.p99 });
    });
  });
}

async function autocannonRun(url: string, connections: number, seconds: number, headers: Record<string, string>, cookies?: readonly string[]): Promise<Measurement> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers,
    ...(cookies ? { requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: cookies[(next = (next + 1) % cookies.length)] ?? '' } }) }] } : {}),
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${url}: ${failed} failed requests under load`);
  return { rps: result.requests.average, p50: result.latency.p50 * 1000, p90: result.latency.p90 * 1000, p99: result.latency.p99 * 1000 };
}

function median(values: readonly Measurement[]): Measurement {
  const middle = (pick: (m: Measurement) => number): number => {
    const sorted = values.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  const cpu = values.every((m) => m.cpuPerRequest !== undefined) ? { cpuPerRequest: middle((m) => m.cpuPerRequest ?? 0) } : {};
  return { rps: middle((m) => m.rps), p50: middle((m) => m.p50), p90: middle((m) => m.p90), p99: middle((m) => m.p99), ...cpu };
}

function rss(gateway: GatewayProcess): number {
  const status = readFileSync(`/proc/${gateway.proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

function signedCookie(sid: string): string {
  return `${COOKIE_NAME}=${signedCookieValue(sid, SESSION_SECRET)}`;
}

async function liveSessions(
  gateway: GatewayProcess,
  url: string,
  cookie: string,
): Promise<{ rssBefore: number; rssAfter: number; emptyP50: number; fullOneP50: number; fullSpreadP50: number; lastSeenWriteMicros: number }> {
  // Every p50 here goes through the same load script, which takes each request's cookie from a list (one for one
  // session): a script per request costs the load generator time of its own, which a comparison must not see.
  let files = 0;
  const cycling = (cookies: readonly string[]): Promise<Measurement> => {
    const cookieFile = join(work, `cookies-${(files += 1)}.txt`);
    writeFileSync(cookieFile, `${cookies.join('\n')}\n`);
    return loadGenerator === 'wrk' ? wrk(`${url}${PAGE_PATH}`, 1, options.duration, {}, cookieFile) : autocannonRun(`${url}${PAGE_PATH}`, 1, options.duration, {}, cookies);
  };
  const rssBefore = rss(gateway);
  const emptyP50 = median(await repeat(() => cycling([cookie]))).p50;

  // The sessions are written the way the gateway writes them: through its store, into the gateway's own file.
  const sid = verifiedSessionId(cookie.slice(COOKIE_NAME.length + 1), SESSION_SECRET);
  if (sid === undefined) throw new Error('the signed-in cookie does not carry a session ID');
  const store = new SqliteSessionStore(sqlitePath, SESSION_LIFETIMES, silentLogger, () => {}, 3600_000);
  const template = await store.get(sid);
  if (template === undefined) throw new Error('the signed-in session is not in the store');
  const cookies: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < options.sessions; i += 1) {
    const id = newSessionId();
    const now = Date.now();
    await store.set(id, { ...template, user: template.user && { ...template.user, accountingId: `bench-${i}`, signedInAt: now, lastSeenAt: now } });
    ids.push(id);
    cookies.push(signedCookie(id));
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  for (let i = 0; i < cookies.length; i += 16) {
    const answers = await Promise.all(cookies.slice(i, i + 16).map((each) => status(`${url}${PAGE_PATH}`, each, agent)));
    if (answers.some((code) => code !== 200)) throw new Error(`a stored session did not reach the page: ${answers.join(' ')}`);
  }
  agent.destroy();
  const rssAfter = rss(gateway);
  const fullOneP50 = median(await repeat(() => cycling([cookie]))).p50;
  // A session's first request 30 s after its last-seen time writes the new one, whatever the store holds: each round
  // starts with every last-seen time fresh (and the gateway's one-second cache lapsed), so the rounds measure the
  // store's size and not that write, whose cost is measured here on its own.
  const writes: number[] = [];
  const spreadRounds: Measurement[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    const started = process.hrtime.bigint();
    for (const id of ids) await store.update(id, (current) => ({ ...current, user: current.user && { ...current.user, lastSeenAt: Date.now() } }));
    writes.push(Number(process.hrtime.bigint() - started) / 1000 / ids.length);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    spreadRounds.push(await cycling(cookies));
  }
  await store.close();
  const fullSpreadP50 = median(spreadRounds).p50;
  return { rssBefore, rssAfter, emptyP50, fullOneP50, fullSpreadP50, lastSeenWriteMicros: [...writes].sort((a, b) => a - b)[Math.floor(writes.length / 2)] ?? 0 };
}

async function repeat(run: () => Promise<Measurement>): Promise<Measurement[]> {
  const runs: Measurement[] = [];
  for (let i = 0; i < options.rounds; i += 1) runs.push(await run());
  return runs;
}

async function stopAll(): Promise<void> {
  const gateways = [gatewaySqlite, gatewayMemory, ...(gatewayRedis ? [gatewayRedis] : [])];
  for (const { gateway } of gateways) gateway.signal('SIGTERM');
  await Promise.all(gateways.map(({ gateway }) => gateway.exited));
  await redisServer?.stop();
  // nginx's master stops its worker only if it is still there to do it: wait for every child to be gone.
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  await radius.close();
}

/**
 * Where the gateway's CPU time went, as `node --cpu-prof` wrote it when the gateway exited: each sample is charged to
 * the innermost frame on its stack that is the gateway's own code or a package (what that code made Node do
 * included), else to Node's own HTTP work; then the functions by self time.
 */
function printProfile(folder: string): void {
  const file = readdirSync(folder).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${folder}`);
  const profile = JSON.parse(readFileSync(join(folder, file), 'utf8')) as {
    nodes: { id: number; hitCount: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const idle = (name: string): boolean => name === '(idle)' || name === '(program)';
  const place = (url: string): string => url.replace(pathToFileURL(built).href, '').replace(pathToFileURL(REPO).href, '');
  const owner = (url: string): string | undefined => {
    const where = place(url);
    const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(where)?.[1];
    if (pkg !== undefined) return `package ${pkg}`;
    return /^\/?dist\//.test(where) ? `gateway ${where.replace(/^\/?dist\//, '')}` : undefined;
  };

  const charged = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const leaf = byId.get(id);
    if (leaf === undefined || idle(leaf.callFrame.functionName)) continue;
    busy += 1;
    let part = leaf.callFrame.functionName === '(garbage collector)' ? 'garbage collector' : 'Node core (parsing, sockets, streams, writes)';
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const found = owner(byId.get(at)?.callFrame.url ?? '');
      if (found !== undefined) {
        part = found;
        break;
      }
    }
    charged.set(part, (charged.get(part) ?? 0) + 1);
  }
  const self = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    if (idle(functionName)) continue;
    const key = `${functionName || '(anonymous)'} ${place(url)}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + node.hitCount);
  }
  const share = (hits: number): string => `${((100 * hits) / busy).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\nCPU profile of the SQLite gateway (${join(folder, file)}), as a share of its busy time\n  by the innermost of our files or packages on the stack:\n`);
  for (const [part, hits] of [...charged].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`  ${share(hits)}  ${part}\n`);
  process.stdout.write('  top 20 functions by self time:\n');
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`  ${share(hits)}  ${key}\n`);
}

function int(value: number): string {
  return Math.round(value).toLocaleString('en');
}
function ms(micros: number, signed = false): string {
  return `${signed && micros >= 0 ? '+' : ''}${(micros / 1000).toFixed(2)} ms`;
}
function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}
function percent(value: number, base: number): string {
  return `${value >= base ? '+' : ''}${((100 * (value - base)) / base).toFixed(1)}% of the empty store`;
}
