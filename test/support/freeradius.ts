/**
 * Runs a real FreeRADIUS 3 (Debian's /usr/sbin/freeradius) in the foreground from a private, generated
 * configuration (templates in test/freeradius/), for interoperability tests: authentication (PAP, and a one-time
 * code challenge for users that have one), Status-Server, accounting into a detail file, and optionally a RadSec
 * (TLS) listener. Missing FreeRADIUS is a loud error, never a skipped test: CI installs it, and a silent skip
 * would hide a broken install step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FREERADIUS_BINARY = '/usr/sbin/freeradius';

const TEMPLATES = new URL('../freeradius/', import.meta.url);
const TEMPLATE_FILES = ['radiusd.conf', 'clients.conf', 'sites/default', 'users'] as const;
/** Included by radiusd.conf with `$-INCLUDE`, so it exists only when a RadSec listener is asked for. */
const RADSEC_TEMPLATE = 'sites/radsec';
const STARTUP_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 5;

export interface FreeRadiusUser {
  readonly password: string;
  /** Reply items of the Access-Accept, by FreeRADIUS dictionary name; repeated names add values in order. */
  readonly attributes?: ReadonlyArray<readonly [name: string, value: string]>;
  /**
   * A one-time code: the right password is answered with an Access-Challenge (Reply-Message
   * FREERADIUS_OTP_PROMPT and a State), and the accept comes only when this code is sent back with that State.
   */
  readonly otp?: string;
}

/** The Reply-Message of the one-time code challenge (sites/default). */
export const FREERADIUS_OTP_PROMPT = 'Enter your one-time code';

/** PEM files for the RadSec listener, which requires a client certificate signed by `caFile`. */
export interface FreeRadiusTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface FreeRadiusOptions {
  /**
   * Loopback UDP port for authentication; accounting listens on the next port and RadSec (TCP) on the one after.
   * Omitted: a random high port, retried on collision.
   */
  readonly port?: number;
  readonly secret: string;
  /** Client entry `require_message_authenticator = yes`: requests without a valid one are dropped. */
  readonly requireMessageAuthenticator?: boolean;
  readonly users: Readonly<Record<string, FreeRadiusUser>>;
  /** Also listen for RadSec (RFC 6614) with these certificates. */
  readonly tls?: FreeRadiusTls;
}

/** One record of the accounting detail file: attribute name to value, quotes removed. */
export type DetailRecord = Readonly<Record<string, string>>;

export interface RunningFreeRadius {
  readonly host: '127.0.0.1';
  /** Authentication and Status-Server (UDP). */
  readonly port: number;
  /** Accounting (UDP). */
  readonly acctPort: number;
  /** RadSec (TCP), when `tls` was given. */
  readonly tlsPort: number | undefined;
  /** Everything FreeRADIUS printed so far, for assertions and for failure messages. */
  output(): string;
  /** The accounting records FreeRADIUS wrote so far, oldest first. */
  accountingRecords(): Promise<DetailRecord[]>;
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
  // Above Debian's 18120 (inner-tunnel) and below the usual ephemeral range, where the kernel picks ports,
  // leaving room for the accounting and RadSec ports that follow.
  return 20_000 + Math.floor(Math.random() * 11_990);
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
  const detailFile = join(dir, 'radacct', 'detail');
  return {
    host: '127.0.0.1',
    port,
    acctPort: port + 1,
    tlsPort: options.tls === undefined ? undefined : port + 2,
    output: () => output,
    accountingRecords: () => readDetail(detailFile),
    stop,
  };
}

/**
 * The detail file: records separated by blank lines, each a timestamp line then `\tName = value` lines, text
 * values in double quotes.
 */
async function readDetail(file: string): Promise<DetailRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split(/\n\s*\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const record: Record<string, string> = {};
      for (const line of block.split('\n').slice(1)) {
        const match = /^\s+([\w-]+) = (.*)$/.exec(line);
        if (match) record[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
      }
      return record;
    });
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
    ACCT_PORT: String(port + 1),
    TLS_PORT: String(port + 2),
    SECRET: quoted(options.secret, 'secret'),
    REQUIRE_MA: options.requireMessageAuthenticator ? 'yes' : 'no',
    OTP_PROMPT: FREERADIUS_OTP_PROMPT,
    USERS: usersFile(options.users),
    TLS_CERT: quoted(options.tls?.certFile ?? '', 'certificate file'),
    TLS_KEY: quoted(options.tls?.keyFile ?? '', 'key file'),
    TLS_CA: quoted(options.tls?.caFile ?? '', 'CA file'),
  };
  await Promise.all(['log', 'run', 'sites', 'radacct'].map((sub) => mkdir(join(dir, sub))));
  const files = options.tls === undefined ? TEMPLATE_FILES : [...TEMPLATE_FILES, RADSEC_TEMPLATE];
  for (const file of files) {
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
 * Users-file entries: `"name" Cleartext-Password := "…"` (and the one-time code as control item Tmp-String-0,
 * which sites/default looks for) then indented, comma-separated reply items. Values are escaped for FreeRADIUS
 * double-quoted strings; names must be dictionary names FreeRADIUS knows.
 */
function usersFile(users: Readonly<Record<string, FreeRadiusUser>>): string {
  return Object.entries(users)
    .map(([name, user]) => {
      const replies = (user.attributes ?? []).map(([attribute, value]) => {
        if (!/^[A-Za-z][\w-]*$/.test(attribute)) throw new FreeRadiusStartError(`bad attribute name ${JSON.stringify(attribute)}`);
        return `\t${attribute} += "${quoted(value, attribute)}"`;
      });
      const otp = user.otp === undefined ? '' : `, Tmp-String-0 := "${quoted(user.otp, 'one-time code')}"`;
      const check = `"${quoted(name, 'user name')}" Cleartext-Password := "${quoted(user.password, 'password')}"${otp}`;
      return [check, replies.join(',\n')].filter((line) => line !== '').join('\n');
    })
    .join('\n\n');
}

function quoted(value: string, what: string): string {
  // A line break would end the entry and let the rest be read as configuration.
  if (/[\r\n\0]/.test(value)) throw new FreeRadiusStartError(`${what} contains a line break or NUL`);
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
