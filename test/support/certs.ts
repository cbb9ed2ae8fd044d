/**
 * Throwaway certificates for the TACACS+ over TLS tests, made with the `openssl` CLI at test time so nothing
 * secret or expiring sits in the repository: a CA, a server certificate for 127.0.0.1, ::1 and localhost signed
 * by it, a client certificate signed by it, and a second, "rogue" CA with a server certificate for the same
 * names that nobody trusts. No test-framework imports.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly dir: string;
  readonly ca: { readonly certFile: string; readonly cert: string };
  /** Signed by `ca`; SAN IP:127.0.0.1, IP:::1, DNS:localhost. */
  readonly server: KeyPair;
  /** Signed by `ca`; CN netbox-gateway, for client authentication. */
  readonly client: KeyPair;
  readonly rogueCa: { readonly certFile: string; readonly cert: string };
  /** Same names as `server`, signed by `rogueCa`. */
  readonly rogueServer: KeyPair;
  remove(): void;
}

const SERVER_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
].join('\n');
const CLIENT_EXTENSIONS = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'].join('\n');

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'tacacs-certs-'));
  try {
    const ca = makeCa(dir, 'ca', 'NetBox gateway test CA');
    const rogueCa = makeCa(dir, 'rogue-ca', 'Rogue test CA');
    return {
      dir,
      ca,
      server: makeLeaf(dir, 'server', 'tacacs-test-server', ca, SERVER_EXTENSIONS),
      client: makeLeaf(dir, 'client', 'netbox-gateway', ca, CLIENT_EXTENSIONS),
      rogueCa,
      rogueServer: makeLeaf(dir, 'rogue-server', 'tacacs-test-server', rogueCa, SERVER_EXTENSIONS),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function makeCa(dir: string, name: string, cn: string): { certFile: string; cert: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, cert: readFileSync(certFile, 'utf8'), keyFile };
}

function makeLeaf(dir: string, name: string, cn: string, issuer: { certFile: string; keyFile: string }, extensions: string): KeyPair {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${extensions}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${cn}`]);
  openssl([
    'x509', '-req', '-in', csrFile, '-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-extfile', extFile, '-out', certFile,
  ]);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error('The TACACS+ TLS tests need the openssl command line tool: apt-get install -y openssl', { cause: error });
    }
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}
