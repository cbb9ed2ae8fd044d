/**
 * Cross-check of the test server (and so of the codec's server half) against an independent client: Debian's
 * Authen::TacacsPlus 0.28, driven by test/perl/tacacs-login.pl. Never skipped: without perl or the module the
 * suite fails and says what to install.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuthenContinue, AuthenStart } from '../../src/aaa/tacacs/codec.js';
import { TacacsTestServer, type RunningTacacsTestServer } from '../support/tacacs-server.js';

const SCRIPT = fileURLToPath(new URL('../perl/tacacs-login.pl', import.meta.url));
const KEY = 'perl-cross-check-key';
const INSTALL = 'apt-get install -y perl libauthen-tacacsplus-perl';

let server: TacacsTestServer;
let running: RunningTacacsTestServer;
/** Set when perl or the module is missing; every test then fails with it (a failing hook would mark them skipped). */
let missing: Error | undefined;

beforeAll(async () => {
  try {
    execFileSync('perl', ['-MAuthen::TacacsPlus', '-MDigest::MD5', '-e', '1'], { stdio: 'pipe', timeout: 10_000 });
  } catch (error) {
    missing = new Error(`The TACACS+ cross-check needs perl with Authen::TacacsPlus: ${INSTALL}`, { cause: error });
  }
  server = new TacacsTestServer({ key: KEY, users: { alice: { password: 'wonderland' } } });
  running = await server.start({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await running?.close();
});

interface PerlRun {
  readonly exitCode: number;
  readonly stdout: string;
}

/** Asynchronous on purpose: the server answering it runs on this process's event loop. */
function perlLogin(type: 'ascii' | 'pap' | 'chap', password: string, key = KEY): Promise<PerlRun> {
  if (missing) return Promise.reject(missing);
  const args = [SCRIPT, '127.0.0.1', String(running.port), key, type, 'alice', password];
  return new Promise((resolve, reject) => {
    execFile('perl', args, { timeout: 20_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ exitCode: error ? Number(error.code) : 0, stdout: stdout.trim() });
    });
  });
}

describe('Authen::TacacsPlus against the test server', () => {
  for (const type of ['ascii', 'pap', 'chap'] as const) {
    it(`${type}: accepts the right password and rejects a wrong one`, async () => {
      server.authentications.length = 0;
      expect(await perlLogin(type, 'wonderland')).toEqual({ exitCode: 0, stdout: 'PASS' });
      expect(await perlLogin(type, 'not-wonderland')).toEqual({ exitCode: 0, stdout: 'DENY Authentication failed' });
      const start = server.authentications[0]!;
      expect(start.header.version).toBe(type === 'ascii' ? 0xc0 : 0xc1);
      expect(start.body).toMatchObject({ authenType: { ascii: 1, pap: 2, chap: 3 }[type], port: 'Virtual00' });
    });
  }

  it('ascii: the module sends no user in START, answers GETUSER and GETPASS with CONTINUEs', async () => {
    server.authentications.length = 0;
    await perlLogin('ascii', 'wonderland');
    expect((server.authentications[0]!.body as AuthenStart).user).toBe('');
    expect(server.authentications.slice(1).map((a) => [a.header.seqNo, (a.body as AuthenContinue).userMsg])).toEqual([
      [3, 'alice'],
      [5, 'wonderland'],
    ]);
  });

  for (const type of ['ascii', 'pap', 'chap'] as const) {
    it(`${type}: a client with another key never gets a PASS`, async () => {
      server.refused.length = 0;
      const run = await perlLogin(type, 'wonderland', 'some-other-key-entirely');
      // The server finds the START's lengths do not add up and answers RFC 8907 §3.6's empty error packet.
      // Authen::TacacsPlus 0.28 checks no lengths itself, but refuses to read an empty body: its read_data()
      // calls exit(1) after printing "too many retries". (An obfuscated ERROR would instead reach it as a
      // pseudo-random status byte, a PASS one time in 256.)
      expect(run).toEqual({ exitCode: 1, stdout: 'too many retries' });
      expect(server.refused).toHaveLength(1);
      expect(server.refused[0]!.body).toMatch(/length fields add up to \d+ bytes, the body has \d+ \(wrong key\?\)/);
    });
  }
});
