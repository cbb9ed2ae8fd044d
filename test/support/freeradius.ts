/**
 * Runs a real FreeRADIUS 3 (Debian's /usr/sbin/freeradius) in the foreground from a private, generated
 * configuration (templates in test/freeradius/), for interoperability tests. Missing FreeRADIUS is a loud
 * error, never a skipped test: CI installs it, and a silent skip would hide a broken install step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FREERADIUS_BINARY = '/usr/sbin/freeradius';

const TEMPLATES = new URL('../freeradius/', import.meta.url);
const TEMPLATE_FILES = ['radiusd.conf', 'clients.conf', 'sites/default', 'users'] as const;
const STARTUP_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 5;

export interface FreeRadiusUser {
  readonly password: string;
  /** Reply items of the Access-Accept, by FreeRADIUS dictionary name; repeated names add values in order. */
  readonly attributes?: ReadonlyArray<readonly [name: string, value: string]>;
}

export interface FreeRadiusOptions {
  /** Loopback UDP port to listen on; omitted: a random high port, retried on collision. */
  readonly port?: number;
  readonly secret: string;
  /** Client entry `require_message_authenticator = yes`: requests without a valid one are dropped. */
  readonly requireMessageAuthenticator?: boolean;
  readonly users: Readonly<Record<string, FreeRadiusUser>>;
}

export interface RunningFreeRadius {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Everything FreeRADIUS printed so far, for assertions and for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** FreeRADIUS could not be started, with its own output attached. */
export class FreeRadiusStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FreeRadiusStartError';
  }
}

export async function startFreeRadius(options: FreeRadiusOptions): Promise<RunningFreeRadius> {
  try {
    await access(FREERADIUS_BINARY, constants.X_OK);
  } catch (error) {
    throw new FreeRadiusStartError(
      `${FREERADIUS_BINARY} is missing: install the Debian packages freeradius and freeradius-utils ` +
        '(apt-get install -y freeradius freeradius-utils); the FreeRADIUS interoperability tests cannot run without it',
      { cause: error },
    );
  }
  const ports = options.port === undefined ? Array.from({ length: PORT_ATTEMPTS }, randomPort) : [options.port];
  let lastError: FreeRadiusStartError | undefined;
  for (const port of ports) {
    try {
      return await startOnPort(options, port);
    } catch (error) {
      if (!(error instanceof PortInUse)) throw error;
      lastError = new FreeRadiusStartError(`port ${port} is in use`, { cause: error });
    }
  }
  throw new FreeRadiusStartError(`no free port after ${ports.length} attempt(s)`, { cause: lastError });
}

class PortInUse extends Error {
  constructor(output: string) {
    super(output);
    this.name = 'PortInUse';
  }
}

function randomPort(): number {
  // Above Debian's 18120 (inner-tunnel) and below the usual ephemeral range, where the kernel picks ports.
  return 20_000 + Math.floor(Math.random() * 12_000);
}

async function startOnPort(options: FreeRadiusOptions, port: number): Promise<RunningFreeRadius> {
  const dir = await mkdtemp(join(tmpdir(), 'netbox-aaa-freeradius-'));
  try {
    await writeConfig(dir, options, port);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(FREERADIUS_BINARY, ['-f', '-l', 'stdout', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

  const stop = async (): Promise<void> => {
    await terminate(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, output: () => output, stop };
}

function waitUntilReady(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new FreeRadiusStartError(`FreeRADIUS not ready after ${STARTUP_TIMEOUT_MS} ms:\n${output()}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onData = (): void => {
      if (output().includes('Ready to process requests')) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const text = output();
      done(
        text.includes('Address already in use')
          ? new PortInUse(text)
          : new FreeRadiusStartError(`FreeRADIUS exited (code ${code}, signal ${signal}) before it was ready:\n${text}`),
      );
    };
    const onError = (error: Error): void => done(new FreeRadiusStartError(`cannot run ${FREERADIUS_BINARY}`, { cause: error }));
    function done(error?: Error): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

async function writeConfig(dir: string, options: FreeRadiusOptions, port: number): Promise<void> {
  const values: Record<string, string> = {
    DIR: dir,
    PORT: String(port),
    SECRET: quoted(options.secret, 'secret'),
    REQUIRE_MA: options.requireMessageAuthenticator ? 'yes' : 'no',
    USERS: usersFile(options.users),
  };
  await Promise.all([mkdir(join(dir, 'log')), mkdir(join(dir, 'run')), mkdir(join(dir, 'sites'))]);
  for (const file of TEMPLATE_FILES) {
    const template = await readFile(new URL(file, TEMPLATES), 'utf8');
    const text = template.replace(/@@([A-Z_]+)@@/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new FreeRadiusStartError(`template ${file} uses unknown placeholder @@${name}@@`);
      return value;
    });
    await writeFile(join(dir, file), text);
  }
}

/**
 * Users-file entries: `"name" Cleartext-Password := "…"` then indented, comma-separated reply items. Values
 * are escaped for FreeRADIUS double-quoted strings; names must be dictionary names FreeRADIUS knows.
 */
function usersFile(users: Readonly<Record<string, FreeRadiusUser>>): string {
  return Object.entries(users)
    .map(([name, user]) => {
      const replies = (user.attributes ?? []).map(([attribute, value]) => {
        if (!/^[A-Za-z][\w-]*$/.test(attribute)) throw new FreeRadiusStartError(`bad attribute name ${JSON.stringify(attribute)}`);
        return `\t${attribute} += "${quoted(value, attribute)}"`;
      });
      const check = `"${quoted(name, 'user name')}" Cleartext-Password := "${quoted(user.password, 'password')}"`;
      return [check, replies.join(',\n')].filter((line) => line !== '').join('\n');
    })
    .join('\n\n');
}

function quoted(value: string, what: string): string {
  // A line break would end the entry and let the rest be read as configuration.
  if (/[\r\n\0]/.test(value)) throw new FreeRadiusStartError(`${what} contains a line break or NUL`);
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
