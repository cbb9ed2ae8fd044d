/**
 * Login latency through the failover chain against the project's own RADIUS and TACACS+ test servers on
 * loopback, with (a) all servers up, (b) the first server's port closed, (c) the first server a black hole, for
 * the 1st and the 20th login after the failure. A benchmark, not a test: it prints figures and judges nothing.
 *
 *   npx tsx bench/failover.ts [runs]
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createTcpServer } from 'node:net';

import { createRadiusAuthenticator } from '../src/aaa/radius/authenticator.js';
import { createTacacsAuthenticator } from '../src/aaa/tacacs/authenticator.js';
import type { AuthRequest, Authenticator } from '../src/aaa/types.js';
import type { RadiusConfig, TacacsConfig } from '../src/config/types.js';
import { silentLogger } from '../src/log.js';
import { RadiusTestServer } from '../test/support/radius-server.js';
import { TacacsTestServer } from '../test/support/tacacs-server.js';

const HOST = '127.0.0.1';
const SECRET = 'bench-shared-secret-0123';
const LOGINS = 20;
const RUNS = Number(process.argv[2] ?? 5);
const RADIUS_TIMEOUT_MS = 250;
const RADIUS_RETRIES = 2;
const TACACS_TIMEOUT_MS = 500;
/** As deployed by default; probing is off so that nothing but the logins touches the servers. */
const HEALTH = { deadTimeMs: 60_000, probeIntervalMs: 10_000 };
const alice: AuthRequest = { username: 'alice', password: 'wonderland', clientAddress: '192.0.2.7' };
const users = { alice: { password: 'wonderland' } };

type Scenario = 'all up' | 'first port closed' | 'first black hole';
const SCENARIOS: readonly Scenario[] = ['all up', 'first port closed', 'first black hole'];

interface Protocol {
  readonly name: string;
  readonly setting: string;
  /** Ports of a healthy server, a black hole, and a port nothing listens on. */
  start(): Promise<{ up: number; blackHole: number; closed: number; stop(): Promise<void> }>;
  authenticator(ports: readonly number[]): Authenticator;
}

const radius: Protocol = {
  name: 'RADIUS',
  setting: `timeout ${RADIUS_TIMEOUT_MS} ms × ${RADIUS_RETRIES} tries`,
  async start() {
    const up = await new RadiusTestServer({ secret: SECRET, users }).start({ host: HOST, port: 0 });
    const hole = await new RadiusTestServer({ secret: SECRET, users, faults: { blackHole: true } }).start({ host: HOST, port: 0 });
    const socket = createSocket('udp4');
    socket.bind(0, HOST);
    await once(socket, 'listening');
    const closed = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const stop = async (): Promise<void> => {
      await Promise.all([up.close(), hole.close()]);
    };
    return { up: up.port, blackHole: hole.port, closed, stop };
  },
  authenticator(ports) {
    const config: RadiusConfig = {
      servers: ports.map((port) => ({ host: HOST, port, transport: 'udp', requireMessageAuthenticator: 'no' })),
      secret: SECRET,
      timeoutMs: RADIUS_TIMEOUT_MS,
      retries: RADIUS_RETRIES,
      nasIdentifier: 'netbox-gw-bench',
      nasIpAddress: undefined,
      sourceAddress: undefined,
      challengeTimeoutMs: 5_000,
      accounting: { enabled: false, servers: [] },
      tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
      probe: false,
    };
    return createRadiusAuthenticator(config, 10_000, silentLogger, HEALTH);
  },
};

const tacacs: Protocol = {
  name: 'TACACS+',
  setting: `timeout ${TACACS_TIMEOUT_MS} ms, PAP, no authorization`,
  async start() {
    const up = await new TacacsTestServer({ key: SECRET, users }).start({ host: HOST, port: 0 });
    const hole = await new TacacsTestServer({ key: SECRET, users, faults: { blackHole: true } }).start({ host: HOST, port: 0 });
    const listener = createTcpServer().listen(0, HOST);
    await once(listener, 'listening');
    const closed = (listener.address() as { port: number }).port;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const stop = async (): Promise<void> => {
      await Promise.all([up.close(), hole.close()]);
    };
    return { up: up.port, blackHole: hole.port, closed, stop };
  },
  authenticator(ports) {
    const config: TacacsConfig = {
      servers: ports.map((port) => ({ host: HOST, port, tls: false })),
      secret: SECRET,
      timeoutMs: TACACS_TIMEOUT_MS,
      authType: 'pap',
      service: 'shell',
      portName: 'netbox-gw-bench',
      probe: false,
      authorization: false,
      accounting: false,
      tls: { caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined },
    };
    return createTacacsAuthenticator(config, 10_000, silentLogger, HEALTH);
  },
};

/** Latency of the 1st and the 20th login of a fresh chain whose second server is healthy. */
async function run(protocol: Protocol, ports: readonly number[]): Promise<[first: number, last: number]> {
  const auth = protocol.authenticator(ports);
  const times: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    const outcome = await auth.authenticate(alice);
    times.push(performance.now() - started);
    if (outcome.kind !== 'accept') throw new Error(`${protocol.name}: login ${i + 1} was ${outcome.kind}, expected an accept`);
  }
  return [times[0]!, times[LOGINS - 1]!];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`runs must be a positive integer, got ${process.argv[2]}`);
  const rows: string[][] = [];
  for (const protocol of [radius, tacacs]) {
    const servers = await protocol.start();
    try {
      const first = { 'all up': servers.up, 'first port closed': servers.closed, 'first black hole': servers.blackHole } as const;
      // One discarded round so that module loading and JIT warm-up land in no figure.
      await run(protocol, [servers.up, servers.up]);
      for (const scenario of SCENARIOS) {
        const firsts: number[] = [];
        const lasts: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const [firstLogin, lastLogin] = await run(protocol, [first[scenario], servers.up]);
          firsts.push(firstLogin);
          lasts.push(lastLogin);
        }
        rows.push([protocol.name, scenario, median(firsts).toFixed(2), median(lasts).toFixed(2), protocol.setting]);
      }
    } finally {
      await servers.stop();
    }
  }
  const header = ['protocol', 'first server', '1st login ms', `${LOGINS}th login ms`, 'per-server setting'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 2 || column === 3 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  console.log(`Login latency on loopback, median of ${RUNS} runs (second server healthy; dead time ${HEALTH.deadTimeMs / 1000} s, no probing)`);
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

await main();
