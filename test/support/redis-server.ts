import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { connectRedis, type RedisConnection } from '../../src/redis/connection.js';
import { freePort } from './free-port.js';

/**
 * Debian's redis-server on a loopback port, without persistence, for the tests: started, stopped and started again
 * on the same port (an outage). Without redis-server installed the tests fail, saying so.
 */
export class RedisTestServer {
  #process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: readonly string[],
  ) {}

  /** `password`: the server requires it (requirepass). `tls`: it speaks TLS only, with this certificate. */
  static async start(options: { password?: string; tls?: { certFile: string; keyFile: string; caFile: string } } = {}): Promise<RedisTestServer> {
    const port = await freePort();
    const tls = options.tls;
    const extra = [
      ...(options.password === undefined ? [] : ['--requirepass', options.password]),
      ...(tls === undefined
        ? []
        : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no']),
    ];
    const server = new RedisTestServer(port, mkdtempSync(join(tmpdir(), 'nbgw-redis-')), extra);
    await server.resume();
    return server;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A config for the gateway's own client, with a key prefix of its own so that tests never see each other's keys. */
  config(keyPrefix = `test-${randomBytes(4).toString('hex')}:`): RedisConfig {
    return { host: '127.0.0.1', port: this.port, tls: false, database: 0, username: undefined, password: undefined, caPem: undefined, keyPrefix, sentinels: [], sentinelMaster: undefined, sentinelPassword: undefined };
  }

  /** A gateway connection to this server, ready to take commands. */
  async connect(): Promise<RedisConnection> {
    const connection = connectRedis(this.config(), silentLogger);
    if (!(await connection.whenUp(5_000))) throw new Error(`could not connect to the test redis-server on port ${this.port}`);
    return connection;
  }

  /** Starts it (again) on its port. */
  async resume(): Promise<void> {
    this.#process = await startRedisServer(['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.extraArgs], 'Ready to accept connections', `redis-server on port ${this.port}`);
  }

  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as a hung server or a black-holed link. */
  freeze(): void {
    this.#process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Stops it, as an outage would: the port refuses connections until `resume`. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#process = undefined;
  }
}

/** Debian's redis-server in Sentinel mode, watching one RedisTestServer as master `name`. */
export class SentinelTestServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  /** `masterPassword`: the master's requirepass, which the sentinel needs to watch it (it has none of its own). */
  static async start(master: RedisTestServer, name: string, masterPassword?: string): Promise<SentinelTestServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'nbgw-sentinel-'));
    const config = join(dir, 'sentinel.conf');
    // Sentinel rewrites its configuration file, so it gets one of its own.
    const auth = masterPassword === undefined ? '' : `sentinel auth-pass ${name} ${masterPassword}\n`;
    writeFileSync(config, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${master.port} 1\n${auth}`);
    const child = await startRedisServer([config, '--sentinel'], '+monitor master', `redis sentinel on port ${port}`);
    return new SentinelTestServer(port, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Starts redis-server with `args` and waits for `ready` in its output; without redis-server installed, says so. */
function startRedisServer(args: readonly string[], ready: string, what: string): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise<ChildProcess>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${output}`)), 10_000);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error('redis-server is not installed (apt-get install redis-server); the Redis tests need a real one') : error);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready: ${output}`));
    });
  });
}
