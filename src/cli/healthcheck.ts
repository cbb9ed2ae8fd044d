/**
 * The container's HEALTHCHECK: asks this gateway's own /-/health over loopback, over HTTPS when TLS_CERT_FILE is
 * set (the certificate names the public host, not 127.0.0.1, so it is not verified here). Slim images have no curl.
 * Exit 0 healthy, 1 not.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const setting = (name: string) => process.env[name]?.trim() || undefined;
const port = Number(setting('LISTEN_PORT') ?? 8080);
// The wildcard addresses are reached over loopback; a specific address only on itself.
const listenHost = setting('LISTEN_HOST');
const host = listenHost === undefined || listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
const overTls = setting('TLS_CERT_FILE') !== undefined;
const request = overTls ? httpsRequest : httpRequest;
const req = request({ host, port, path: '/-/health', headers: { Host: host.includes(':') ? `[${host}]` : host }, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
