import { once } from 'node:events';
import { request, type Server } from 'node:http';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetboxProxy } from '../../src/http/proxy.js';
import { silentLogger } from '../../src/log.js';

/**
 * The proxy's connections to NetBox, against a NetBox played over raw TCP so that the test decides exactly when a
 * connection closes: kept alive and reused, bounded in number, closed when idle before NetBox would close them, and a
 * request NetBox never saw (its kept-alive connection closed as the request went out) sent once more when that is safe.
 */

interface Upstream {
  readonly url: URL;
  /** Requests as they arrived: method, path, which connection, and the Connection header. */
  readonly requests: { method: string; path: string; connection: number; connectionHeader: string | undefined }[];
  connections: number;
  open: number;
  maxOpen: number;
  closedByPeer: number;
  close(): Promise<void>;
}

/** `decide` picks, per request, whether to answer (after `delayMs`) or to drop the connection without a word. */
async function startUpstream(decide: (connection: number, nthOnConnection: number) => { drop?: boolean; delayMs?: number } = () => ({})): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const upstream: Upstream = {
    url: new URL('http://127.0.0.1:1'),
    requests: [],
    connections: 0,
    open: 0,
    maxOpen: 0,
    closedByPeer: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: TcpServer = createServer((socket) => {
    sockets.add(socket);
    const connection = ++upstream.connections;
    upstream.open += 1;
    upstream.maxOpen = Math.max(upstream.maxOpen, upstream.open);
    let nth = 0;
    let buffered = '';
    let droppedByUs = false;
    socket.on('end', () => {
      if (!droppedByUs) upstream.closedByPeer += 1;
      socket.end();
    });
    socket.on('close', () => {
      upstream.open -= 1;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        const [method = '', path = ''] = head.split(' ');
        nth += 1;
        upstream.requests.push({ method, path, connection, connectionHeader: /\r\nconnection: *([^\r]*)/i.exec(head)?.[1] });
        const { drop, delayMs = 0 } = decide(connection, nth);
        if (drop) {
          droppedByUs = true;
          socket.destroy();
          return;
        }
        const body = `answer ${connection}.${nth}`;
        setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`), delayMs);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  Object.assign(upstream, { url: new URL(`http://127.0.0.1:${port}`) });
  return upstream;
}

/** The proxy alone, anonymous (as for NetBox's static files), on loopback. */
async function startProxy(netboxUrl: URL, maxConnections = 64): Promise<{ url: string; server: Server }> {
  const app = express();
  app.set('views', new URL('../../views', import.meta.url).pathname);
  app.set('view engine', 'ejs');
  const proxy = createNetboxProxy({
    netboxUrl,
    maxConnections,
    sessionCookieName: 'nbgw_session',
    remoteUser: undefined,
    logger: silentLogger,
    renderUnavailable: (_req, res, status) => res.status(status).type('text/plain').send(`unavailable ${status}`),
    forNetboxAnswer: () => {},
  });
  app.use((req, res) => proxy(req, res));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

function send(url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } }, (answer) => {
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (text += chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(decide?: Parameters<typeof startUpstream>[0], maxConnections?: number): Promise<{ upstream: Upstream; url: string }> {
  const upstream = await startUpstream(decide);
  cleanups.push(() => upstream.close());
  const proxy = await startProxy(upstream.url, maxConnections);
  cleanups.push(async () => {
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy.server.close(resolve));
  });
  return { upstream, url: proxy.url };
}

describe('connections to NetBox', () => {
  it('keeps one connection alive across sequential requests instead of opening one per request', async () => {
    const { upstream, url } = await setUp();
    for (let i = 0; i < 20; i += 1) expect((await send(`${url}/static/app-${i}.js`)).status).toBe(200);
    expect(upstream.requests).toHaveLength(20);
    expect(upstream.connections).toBe(1);
    // The client's own `Connection: close` is about its connection to the gateway, not the gateway's to NetBox.
    expect(upstream.requests.map((each) => each.connectionHeader?.toLowerCase())).toEqual(Array(20).fill('keep-alive'));
  });

  it('sends a GET once more, on a new connection, when NetBox closed the kept-alive one as the request went out', async () => {
    const { upstream, url } = await setUp((connection, nth) => ({ drop: connection === 1 && nth === 2 }));
    expect(await send(`${url}/static/first.css`)).toEqual({ status: 200, body: 'answer 1.1' });
    expect(await send(`${url}/static/second.css`)).toEqual({ status: 200, body: 'answer 2.1' });
    expect(upstream.requests.map((each) => `${each.connection} ${each.method} ${each.path}`)).toEqual([
      '1 GET /static/first.css',
      '1 GET /static/second.css',
      '2 GET /static/second.css',
    ]);
  });

  it('never sends a POST twice: NetBox may have acted on it, so the client hears that it failed', async () => {
    const { upstream, url } = await setUp((connection, nth) => ({ drop: connection === 1 && nth === 2 }));
    expect((await send(`${url}/static/first.css`)).status).toBe(200);
    const answer = await send(`${url}/api/dcim/sites/`, 'POST', '{"name":"x"}');
    expect(answer.status).toBeGreaterThanOrEqual(502);
    expect(upstream.requests.filter((each) => each.method === 'POST')).toHaveLength(1);
  });

  it('sends a GET only once more: a second failure is the client’s 502/504', async () => {
    const { upstream, url } = await setUp((connection, nth) => ({ drop: nth === 2 || connection > 1 }));
    expect((await send(`${url}/static/first.css`)).status).toBe(200);
    expect((await send(`${url}/static/second.css`)).status).toBeGreaterThanOrEqual(502);
    expect(upstream.requests.filter((each) => each.path === '/static/second.css')).toHaveLength(2);
  });

  it('opens no more connections than NETBOX_MAX_CONNECTIONS; the requests past it wait and are all answered', async () => {
    const { upstream, url } = await setUp(() => ({ delayMs: 150 }), 3);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(`${url}/static/slow-${i}.js`)));
    expect(answers.map((each) => each.status)).toEqual(Array(10).fill(200));
    expect(upstream.maxOpen).toBeLessThanOrEqual(3);
    expect(upstream.connections).toBe(3);
  });

  it('closes an idle connection itself, before gunicorn’s 2 s keep-alive would close it under a request', async () => {
    const { upstream, url } = await setUp();
    expect((await send(`${url}/static/once.js`)).status).toBe(200);
    const started = Date.now();
    while (upstream.closedByPeer === 0 && Date.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(upstream.closedByPeer).toBe(1);
    // Generous for a busy machine, but below gunicorn's default keep-alive (2 s) plus the same slack.
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });
});
