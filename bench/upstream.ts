/**
 * The proxy benchmark's NetBox, in its own process so that it never shares an event loop with the load generator
 * or the gateway. `/bench/page/` answers a 10 KB HTML page and `/bench/api/` a 2 KB JSON body straight from
 * node:http, as fast as Node serves anything; every other path (the REST calls and the web login of a sign-in)
 * goes on to the NetBox double. Prints one JSON line when ready: `{"port", "token"}`.
 *
 * `GET /__bench__/double-requests` answers how many requests reached the double so far, so the driver can count
 * what a sign-in costs NetBox.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startNetboxDouble } from '../test/netbox-double/index.js';

export const PAGE_PATH = '/bench/page/';
export const API_PATH = '/bench/api/';

const PAGE = Buffer.from(netboxLikePage(10 * 1024));
const API = Buffer.from(netboxLikeJson(2 * 1024));

const netbox = await startNetboxDouble();
const { value: token } = netbox.state.addServiceToken(1);
let doubleRequests = 0;

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.url === PAGE_PATH) return answer(res, 'text/html; charset=utf-8', PAGE);
  if (req.url === API_PATH) return answer(res, 'application/json', API);
  if (req.url === '/__bench__/double-requests') return answer(res, 'application/json', Buffer.from(JSON.stringify({ count: doubleRequests })));
  doubleRequests += 1;
  const forwarded = request(`${netbox.url}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answerFromDouble) => {
    res.writeHead(answerFromDouble.statusCode ?? 502, answerFromDouble.rawHeaders);
    answerFromDouble.pipe(res);
  });
  forwarded.on('error', () => res.destroy());
  req.pipe(forwarded);
});
// Keep-alive longer than any client's, so idle upstream connections are closed by the proxies, never under them.
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, token })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void netbox.close().then(() => process.exit(0));
});

function answer(res: ServerResponse, type: string, body: Buffer): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'X-Frame-Options': 'SAMEORIGIN', Vary: 'Cookie, Accept-Language' });
  res.end(body);
}

function netboxLikePage(size: number): string {
  const head = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Devices | NetBox</title></head><body><table class="table">';
  const tail = '</table></body></html>';
  let rows = '';
  for (let i = 0; ; i += 1) {
    const row = `<tr><td><a href="/dcim/devices/${i}/">switch-${String(i).padStart(4, '0')}</a></td><td>Active</td></tr>`;
    if (head.length + rows.length + row.length + tail.length > size) break;
    rows += row;
  }
  return head + rows + ' '.repeat(size - head.length - rows.length - tail.length) + tail;
}

function netboxLikeJson(size: number): string {
  const results: object[] = [];
  const shell = { count: 0, next: null, previous: null, results };
  for (let i = 0; JSON.stringify(shell).length < size; i += 1) {
    results.push({ id: i, url: `/api/dcim/sites/${i}/`, display: `site-${i}`, name: `site-${i}`, slug: `site-${i}`, status: { value: 'active', label: 'Active' } });
    shell.count = results.length;
  }
  results.pop();
  shell.count = results.length;
  const text = JSON.stringify(shell);
  return text.slice(0, -1) + ' '.repeat(size - text.length) + '}';
}
