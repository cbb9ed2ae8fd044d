import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetboxDouble, type NetboxDouble } from '../netbox-double/index.js';
import { CookieBrowser } from '../netbox-double/browser.js';
import { makeTestCertificates, type TestCertificates } from '../support/certs.js';
import { freePort } from '../support/free-port.js';
import { signIn } from '../support/gateway-form.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { rawGet, sendRaw } from '../support/raw-http.js';
import { RadiusTestServer } from '../support/radius-server.js';
import { RADIUS_SECRET, startStack, STACK_USERS, type Stack } from '../support/stack.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** HTTPS with the test CA, exact control of cookies and no redirects followed. */
function httpsCall(base: string, path: string, ca: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, base), { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Signs in over HTTPS as a browser would; returns the gateway cookie. */
async function signInOverHttps(base: string, ca: string, username: string, password: string): Promise<{ cookie: string; answer: Answer }> {
  const page = await httpsCall(base, '/-/login', ca);
  const cookie = String(page.headers['set-cookie']?.[0]).split(';')[0]!;
  const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;
  const answer = await httpsCall(base, '/-/login', ca, {
    method: 'POST',
    headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: token, username, password, next: '/dcim/' }).toString(),
  });
  return { cookie: String(answer.headers['set-cookie']?.[0]).split(';')[0]!, answer };
}

function issuerOf(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca: [ca], rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().issuer.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('HTTPS on the gateway', () => {
  let certs: TestCertificates;
  let stack: Stack;
  let redirectPort: number;
  beforeAll(async () => {
    certs = makeTestCertificates();
    redirectPort = await freePort();
    stack = await startStack({ env: { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile, HTTP_REDIRECT_PORT: String(redirectPort) } });
  });
  afterAll(async () => {
    await stack.close();
    certs.remove();
  });

  it('signs in over HTTPS with a Secure cookie and HSTS, and lands on NetBox as the user', async () => {
    expect(stack.gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { cookie, answer } = await signInOverHttps(stack.gateway.url, certs.ca.cert, 'bob', STACK_USERS.bob!.password);
    expect(answer.status).toBe(303);
    expect(String(answer.headers['set-cookie'])).toMatch(/; Secure/);
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000');
    const page = await httpsCall(stack.gateway.url, '/dcim/', certs.ca.cert, { headers: { Cookie: cookie } });
    expect(/<span id="netbox-user">([^<]*)</.exec(page.body)?.[1]).toBe('bob');
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000');
    // NetBox hears that the browser came over HTTPS.
    expect(stack.netbox.state.requestsTo('/dcim/').at(-1)!.headers['x-forwarded-proto']).toBe('https');
  });

  it('refuses TLS older than TLS_MIN_VERSION', async () => {
    const { hostname, port } = new URL(stack.gateway.url);
    const outcome = await new Promise<string>((resolve) => {
      const socket: TLSSocket = tlsConnect({ host: hostname, port: Number(port), ca: [certs.ca.cert], maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => {
        resolve('connected');
        socket.end();
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(outcome).not.toBe('connected');
  });

  it('redirects plain HTTP to HTTPS with 308, keeping host, path and query, and answers health there', async () => {
    const redirect = `http://127.0.0.1:${redirectPort}`;
    const { port } = new URL(stack.gateway.url);
    const moved = await sendRaw(redirect, rawGet('/dcim/devices/?q=a%2Fb', ['Host: netbox.example.net']));
    expect(moved.status).toBe(308);
    expect(moved.headers.get('location')).toEqual(['https://netbox.example.net/dcim/devices/?q=a%2Fb']);
    const nonStandard = await sendRaw(redirect, rawGet('/ipam/', ['Host: netbox.example.net:8081']));
    expect(nonStandard.headers.get('location')).toEqual([`https://netbox.example.net:${port}/ipam/`]);
    expect(moved.headers.get('strict-transport-security')).toBeUndefined();
    const post = await sendRaw(redirect, 'POST /-/login HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    expect(post.status).toBe(308);
    expect(post.headers.get('location')).toEqual(['https://[::1]/-/login']);
    const health = await sendRaw(redirect, rawGet('/-/health'));
    expect(health.status).toBe(200);
    expect(health.text).toContain('{"status":"ok"}');
    for (const bad of [rawGet('/static/../x'), rawGet('/x', ['Host: evil.example/x']), 'GET /x HTTP/1.0\r\n\r\n']) {
      expect((await sendRaw(redirect, bad)).status).toBe(400);
    }
  });
});

describe('the gateway process: certificate reload and shutdown', () => {
  let certs: TestCertificates;
  let netbox: NetboxDouble;
  let radius: RadiusTestServer;
  let closeRadius: () => Promise<void>;
  let env: Record<string, string>;
  const processes: GatewayProcess[] = [];
  beforeAll(async () => {
    certs = makeTestCertificates();
    netbox = await startNetboxDouble();
    radius = new RadiusTestServer({ secret: RADIUS_SECRET, users: STACK_USERS });
    const running = await radius.start({ host: '127.0.0.1', port: 0 });
    closeRadius = running.close;
    env = {
      NETBOX_URL: netbox.url,
      NETBOX_TOKEN: netbox.state.addServiceToken(1).value,
      SESSION_SECRET: 'process-session-secret-0123456789abcdef',
      SESSION_STORE: 'memory',
      RADIUS_SERVERS: `127.0.0.1:${running.port}`,
      RADIUS_SECRET,
      RADIUS_TIMEOUT: '1',
    };
  });
  afterAll(async () => {
    for (const gateway of processes) gateway.kill();
    await closeRadius();
    await netbox.close();
    certs.remove();
  });
  const start = async (extra: Record<string, string> = {}) => {
    const started = await GatewayProcess.start({ ...env, ...extra });
    processes.push(started.gateway);
    return started;
  };

  it('takes a renewed certificate on SIGHUP without dropping an open connection, and keeps the old one if the new one is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbgw-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    copyFileSync(certs.server.certFile, certFile);
    copyFileSync(certs.server.keyFile, keyFile);
    const { gateway, url } = await start({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
    expect(await issuerOf(url, certs.ca.cert)).toBe('NetBox gateway test CA');

    const { hostname, port } = new URL(url);
    const open = tlsConnect({ host: hostname, port: Number(port), ca: [certs.ca.cert] });
    await new Promise((resolve) => open.once('secureConnect', resolve));

    copyFileSync(certs.rogueServer.certFile, certFile);
    copyFileSync(certs.rogueServer.keyFile, keyFile);
    gateway.signal('SIGHUP');
    await expect.poll(() => gateway.logged('TLS certificate reloaded') !== undefined).toBe(true);
    expect(await issuerOf(url, certs.ca.cert)).toBe('Rogue test CA');

    // The connection opened before the reload still works.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      open.on('data', (chunk: Buffer) => (text += chunk.toString()));
      open.on('end', () => resolve(text));
      open.write('GET /-/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);

    // A key that does not match: logged, and the certificate in use stays.
    copyFileSync(certs.server.certFile, certFile);
    gateway.signal('SIGHUP');
    await expect.poll(() => gateway.logged('TLS certificate not reloaded; the old one stays in use') !== undefined).toBe(true);
    expect(await issuerOf(url, certs.ca.cert)).toBe('Rogue test CA');
    gateway.signal('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });

  it('on SIGTERM finishes a 3-second proxied request, refuses new connections, and exits 0', async () => {
    const { gateway, url } = await start();
    const cookie = await signInPlain(url);
    const started = Date.now();
    const slow = sendRaw(url, rawGet('/__double__/slow?ms=3000', ['Host: x', `Cookie: ${cookie}`]), { timeoutMs: 15_000 });
    await expect.poll(() => netbox.state.requestsTo('/__double__/slow').length).toBe(1);
    gateway.signal('SIGTERM');
    await expect.poll(() => gateway.logged('shutting down: finishing the requests in flight') !== undefined).toBe(true);
    expect(await connectOutcome(url)).toBe('ECONNREFUSED');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('slow 3000');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(await gateway.exited).toBe(0);
  });

  it('cuts what is still in flight when SHUTDOWN_GRACE is over, and a second signal exits at once', async () => {
    const graced = await start({ SHUTDOWN_GRACE: '1s' });
    const cookie = await signInPlain(graced.url);
    const cut = sendRaw(graced.url, rawGet('/__double__/slow?ms=8000', ['Host: x', `Cookie: ${cookie}`]), { timeoutMs: 15_000 });
    await expect.poll(() => netbox.state.requestsTo('/__double__/slow?ms=8000').length).toBe(1);
    const signalled = Date.now();
    graced.gateway.signal('SIGTERM');
    expect(await graced.gateway.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(6_000);
    expect((await cut).status).toBeUndefined();

    const twice = await start();
    const cookie2 = await signInPlain(twice.url);
    void sendRaw(twice.url, rawGet('/__double__/slow?ms=9000', ['Host: x', `Cookie: ${cookie2}`]), { timeoutMs: 15_000 });
    await expect.poll(() => netbox.state.requestsTo('/__double__/slow?ms=9000').length).toBe(1);
    const first = Date.now();
    twice.gateway.signal('SIGTERM');
    await expect.poll(() => twice.gateway.logged('shutting down: finishing the requests in flight') !== undefined).toBe(true);
    twice.gateway.signal('SIGTERM');
    expect(await twice.gateway.exited).toBe(1);
    expect(Date.now() - first).toBeLessThan(6_000);
  });

  async function signInPlain(url: string): Promise<string> {
    const browser = new CookieBrowser(url);
    expect((await signIn(browser, 'bob', STACK_USERS.bob!.password)).status).toBe(303);
    return `nbgw_session=${browser.cookies.get('nbgw_session')}`;
  }
});

describe('draining', () => {
  it('answers /-/ready with 503 on a connection already open, while new connections are refused', async () => {
    const stack = await startStack();
    const { hostname, port } = new URL(stack.gateway.url);
    const socket = tcpConnect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    // A request begun before the drain: its connection is not idle, so it is answered.
    socket.write('GET /-/ready HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = stack.gateway.drain(5_000);
    expect(await connectOutcome(stack.gateway.url)).toBe('ECONNREFUSED');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.write('Connection: close\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 503/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain('"status":"unavailable","draining":true');
    await drained;
    await stack.close();
  });
});

describe('draining over TLS', () => {
  it('does not wait for a client that connected and never began its TLS handshake', async () => {
    const certs = makeTestCertificates();
    const stack = await startStack({ env: { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile } });
    try {
      const { hostname, port } = new URL(stack.gateway.url);
      const silent = tcpConnect(Number(port), hostname);
      silent.on('error', () => undefined);
      await new Promise((resolve) => silent.once('connect', resolve));
      const started = Date.now();
      await stack.gateway.drain(300);
      // The handshake timeout is HEADERS_TIMEOUT (10 s here): the drain ended at its grace, not there.
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(silent.destroyed || (await new Promise((resolve) => silent.once('close', () => resolve(true))))).toBe(true);
    } finally {
      await stack.close();
      certs.remove();
    }
  });

  it("the image's healthcheck follows LISTEN_PORT and speaks HTTPS when TLS is on", async () => {
    const certs = makeTestCertificates();
    const stack = await startStack({ env: { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile } });
    try {
      const check = (env: Record<string, string>) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/healthcheck.ts'], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: 'ignore' });
          child.once('exit', resolve);
        });
      const { port } = new URL(stack.gateway.url);
      expect(await check({ LISTEN_PORT: port, TLS_CERT_FILE: certs.server.certFile })).toBe(0);
      expect(await check({ LISTEN_PORT: port, LISTEN_HOST: '127.0.0.1', TLS_CERT_FILE: certs.server.certFile })).toBe(0);
      // Plain HTTP to an HTTPS port, and a port nobody listens on: unhealthy.
      expect(await check({ LISTEN_PORT: port })).toBe(1);
      expect(await check({ LISTEN_PORT: String(await freePort()) })).toBe(1);
    } finally {
      await stack.close();
      certs.remove();
    }
  });
});

function connectOutcome(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
