import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { startListeners } from '../../src/http/listeners.js';
import { silentLogger } from '../../src/log.js';
import { makeTestCertificates } from '../support/certs.js';

const edge = {
  tls: undefined,
  httpRedirectPort: undefined,
  shutdownGraceMs: 1_000,
  maxConnections: 100,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  hstsMaxAgeSeconds: 0,
  adminAllowFrom: [],
};

/**
 * Express moves every request and response onto its prototypes; the listeners make them with those prototypes from
 * the start, so that the move changes nothing and Node's HTTP code keeps one shape of object (bench/proxy.ts shows
 * what the other way costs). Checked where Node hands the request over, before Express sees it.
 */
describe('the listeners make requests and responses as Express wants them', () => {
  for (const scheme of ['http', 'https'] as const) {
    it(`over ${scheme}`, async () => {
      const app = express();
      app.use((req, res) => {
        res.json({ ip: req.ip, path: req.path });
      });
      const certificates = scheme === 'https' ? makeTestCertificates() : undefined;
      const tls = certificates && { certFile: certificates.server.certFile, keyFile: certificates.server.keyFile, minVersion: 'TLSv1.2' as const };
      const listeners = await startListeners(app, { host: '127.0.0.1', port: 0 }, { ...edge, tls }, silentLogger);
      const made: boolean[] = [];
      listeners.server.prependListener('request', (req: object, res: object) => {
        made.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
      });
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const get = certificates ? httpsGet : httpGet;
          get(`${listeners.url}/some/where?x=1`, { ca: certificates?.ca.cert }, (answer) => {
            let text = '';
            answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
            answer.on('end', () => resolve(text));
          }).on('error', reject);
        });
        expect(JSON.parse(body)).toEqual({ ip: '127.0.0.1', path: '/some/where' });
        expect(made).toEqual([true]);
      } finally {
        certificates?.remove();
        listeners.server.closeAllConnections();
        await new Promise((resolve) => listeners.server.close(resolve));
      }
    });
  }
});
