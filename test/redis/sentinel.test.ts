import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { pageUser, signIn } from '../support/gateway-form.js';
import { rawGet, sendRaw } from '../support/raw-http.js';
import { RedisTestServer, SentinelTestServer } from '../support/redis-server.js';
import { startStack, STACK_USERS } from '../support/stack.js';

let master: RedisTestServer;
let sentinel: SentinelTestServer;
const PASSWORD = 'master-Pa55word';
beforeAll(async () => {
  // The usual setup: a master with a password, sentinels without one (which refuse an AUTH they were not given).
  master = await RedisTestServer.start({ password: PASSWORD });
  sentinel = await SentinelTestServer.start(master, 'nbgw-master', PASSWORD);
});
afterAll(async () => {
  await sentinel.stop();
  await master.stop();
});

describe('Redis through Sentinel', () => {
  it('finds the master through REDIS_SENTINELS and signs in, sending the data password to the master only', async () => {
    const stack = await startStack({
      env: { SESSION_STORE: 'redis', REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_MASTER: 'nbgw-master', REDIS_PASSWORD: PASSWORD },
    });
    try {
      const browser = new CookieBrowser(stack.gateway.url);
      expect((await signIn(browser, 'alice', STACK_USERS.alice!.password)).status).toBe(303);
      expect(pageUser((await browser.get('/')).body)).toBe('alice');
      expect(await stack.gateway.sessions.count()).toBe(1);
      expect((await sendRaw(stack.gateway.url, rawGet('/-/ready', ['Host: gateway.test']))).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
