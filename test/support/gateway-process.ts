import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const MAIN = join(REPO, 'src', 'main.ts');

export interface Launch {
  /** Options for node itself, e.g. `--cpu-prof`. */
  readonly nodeOptions?: readonly string[];
  /** A built `main.js` to run as the image does, instead of the sources through tsx. */
  readonly builtMain?: string;
}

/**
 * The gateway as operators run it: `src/main.ts` in its own process, configured by the environment alone (from a
 * scratch folder, so no `.env` is read), for what only a process shows: signals, exit codes, SIGHUP.
 */
export class GatewayProcess {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /** Starts it with LISTEN_PORT=0 and resolves with its URL once it logs that it listens. */
  static async start(env: Record<string, string>, timeoutMs = 20_000, launch: Launch = {}): Promise<{ gateway: GatewayProcess; url: string }> {
    const entry = launch.builtMain === undefined ? ['--import', TSX_LOADER, MAIN] : [launch.builtMain];
    const proc = spawn(process.execPath, [...(launch.nodeOptions ?? []), ...entry], {
      cwd: mkdtempSync(join(tmpdir(), 'nbgw-process-')),
      env: { PATH: process.env['PATH'] ?? '', LISTEN_HOST: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gateway = new GatewayProcess(proc);
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const url = gateway.logged('gateway listening')?.['url'];
      if (typeof url === 'string') return { gateway, url };
      if (proc.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`the gateway process did not start:\n${gateway.output}`);
  }

  /** The fields of the first JSON log line with this message. */
  logged(message: string): Record<string, unknown> | undefined {
    for (const line of this.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry['msg'] === message) return entry;
    }
    return undefined;
  }

  signal(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
