import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { makeTestCertificates } from '../support/certs.js';
import { signIn } from '../support/gateway-form.js';
import { recorder } from '../support/log-recorder.js';
import { rawGet, sendRaw } from '../support/raw-http.js';
import { RedisTestServer } from '../support/redis-server.js';
import { startStack, STACK_USERS } from '../support/stack.js';

const PASSWORD = 'redis-Pa55word-never-logged';
let redis: RedisTestServer;
beforeAll(async () => {
  redis = await RedisTestServer.start({ password: PASSWORD });
});
afterAll(async () => {
  await redis.stop();
});

describe('the Redis password', () => {
  it('signs in with the password from REDIS_URL, and never logs it', async () => {
    const logger = recorder();
    const stack = await startStack({ logger, env: { SESSION_STORE: 'redis', REDIS_URL: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}/2`, LOG_LEVEL: 'debug' } });
    try {
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(logger.lines.join('\n')).not.toContain(PASSWORD);
    } finally {
      await stack.close();
    }
  });

  it('with a wrong one: 503, /-/ready says why, and neither the answers nor the logs hold either password', async () => {
    const logger = recorder();
    const wrong = 'wrong-Pa55word-also-secret';
    const stack = await startStack({ logger, env: { SESSION_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${redis.port}`, REDIS_PASSWORD: wrong } });
    try {
      const login = await sendRaw(stack.gateway.url, rawGet('/-/login', ['Host: gateway.test']));
      expect(login.status).toBe(503);
      const ready = await sendRaw(stack.gateway.url, rawGet('/-/ready', ['Host: gateway.test']));
      expect(ready.status).toBe(503);
      expect(ready.text).toMatch(/"redis":\{"ok":false,"error":"[^"]*(WRONGPASS|invalid)[^"]*"\}/i);
      for (const text of [login.text, ready.text, logger.lines.join('\n')]) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(PASSWORD);
      }
      expect(logger.lines.some((line) => line.startsWith('error Redis unreachable') || line.startsWith('error could not connect to Redis'))).toBe(true);
    } finally {
      await stack.close();
    }
  });
});

describe('Redis over TLS', () => {
  const certs = makeTestCertificates();
  let tlsRedis: RedisTestServer;
  beforeAll(async () => {
    tlsRedis = await RedisTestServer.start({ tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile } });
  });
  afterAll(async () => {
    await tlsRedis.stop();
  });

  it('signs in over rediss:// with the server checked against REDIS_TLS_CA_FILE', async () => {
    const stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: `rediss://127.0.0.1:${tlsRedis.port}`, REDIS_TLS_CA_FILE: certs.ca.certFile } });
    try {
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'alice', STACK_USERS.alice!.password)).status).toBe(303);
    } finally {
      await stack.close();
    }
  });

  it('refuses a server whose certificate another CA signed: 503, and /-/ready says why', async () => {
    const stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: `rediss://127.0.0.1:${tlsRedis.port}`, REDIS_TLS_CA_FILE: certs.rogueCa.certFile } });
    try {
      expect((await sendRaw(stack.gateway.url, rawGet('/-/login', ['Host: gateway.test']))).status).toBe(503);
      const ready = await sendRaw(stack.gateway.url, rawGet('/-/ready', ['Host: gateway.test']));
      expect(ready.text).toMatch(/"redis":\{"ok":false,"error":"[^"]*certificate[^"]*"\}/i);
    } finally {
      await stack.close();
    }
  });
});
