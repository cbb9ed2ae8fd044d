import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewaySession } from '../../src/http/session.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { newSessionId, signedCookieValue, verifiedSessionId } from '../../src/session/session-id.js';
import { SqliteSessionStore } from '../../src/session/sqlite-store.js';
import type { SessionData, SessionStore } from '../../src/session/types.js';
import { rawGet, sendRaw } from '../support/raw-http.js';

const SECRET = 'unit-session-secret-0123456789abcdef';

/** A real store whose writes wait for the test, or fail. */
class SlowStore implements SessionStore {
  readonly inner = new SqliteSessionStore(':memory:', { idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, silentLogger);
  release: (() => void) | undefined;
  failWrites = false;
  get = (sid: string) => this.inner.get(sid);
  touch = (sid: string, data: SessionData) => this.inner.touch(sid, data);
  end = (sid: string) => this.inner.end(sid);
  update = (sid: string, change: (current: SessionData) => SessionData) => this.inner.update(sid, change);
  count = () => this.inner.count();
  close = () => this.inner.close();
  async set(sid: string, data: SessionData): Promise<boolean> {
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    if (this.failWrites) throw new Error('store unreachable');
    return this.inner.set(sid, data);
  }
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(store: SessionStore, logger: Logger = silentLogger): Promise<string> {
  const app = express();
  app.use(gatewaySession({ store, cookieName: 'nbgw_session', secret: SECRET, logger }));
  app.get('/form', (req, res) => {
    req.session.csrfToken = 'token';
    res.type('text/plain').send('form');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the session step', () => {
  it('holds the end of an answer until a changed session is saved, so the next request cannot overtake the save', async () => {
    const store = new SlowStore();
    const url = await serve(store);
    let answered = false;
    const answer = sendRaw(url, rawGet('/form')).then((raw) => {
      answered = true;
      return raw;
    });
    while (store.release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    store.release();
    const raw = await answer;
    expect(raw.status).toBe(200);
    const cookie = raw.headers.get('set-cookie')![0]!;
    const sid = verifiedSessionId(cookie.slice('nbgw_session='.length, cookie.indexOf(';')), SECRET);
    expect(await store.inner.get(sid!)).toEqual({ csrfToken: 'token' });
  });

  it('still answers, and logs, when the save fails; the browser gets no cookie for a session that was not stored', async () => {
    const store = new SlowStore();
    store.failWrites = true;
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (_fields, message) => void errors.push(message) };
    const url = await serve(store, logger);
    const answer = sendRaw(url, rawGet('/form'));
    while (store.release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    store.release();
    const raw = await answer;
    expect(raw.status).toBe(200);
    expect(raw.text.endsWith('form')).toBe(true);
    expect(raw.headers.get('set-cookie')).toBeUndefined();
    expect(errors).toEqual(['could not save a session']);
  });

  it("keeps what concurrent requests of one browser changed: one request's older copy does not undo another's change", async () => {
    const store = new SqliteSessionStore(':memory:', { idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, silentLogger);
    const now = Date.now();
    const sid = newSessionId();
    await store.set(sid, {
      user: { username: 'alice', netboxUserId: 7, groups: [], authServer: 'r', clientAddress: '127.0.0.1', accountingId: 'a', signedInAt: now, lastSeenAt: now, netboxCookies: { sessionid: 'old' } },
    });
    let releaseSlow: (() => void) | undefined;
    const app = express();
    app.use(gatewaySession({ store, cookieName: 'nbgw_session', secret: SECRET, logger: silentLogger }));
    // A slow page that read the session first, and changes the last-seen time after the other request is done.
    app.get('/slow', async (req, res) => {
      await new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
      req.session.updateUser({ lastSeenAt: now + 31_000 });
      res.send('slow');
    });
    app.get('/new-netbox-session', (req, res) => {
      req.session.updateUser({ netboxCookies: { sessionid: 'new' }, netboxReloginAt: now });
      res.send('renewed');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cookie = `Cookie: nbgw_session=${signedCookieValue(sid, SECRET)}`;

    const slow = sendRaw(url, rawGet('/slow', ['Host: gateway.test', cookie]));
    while (releaseSlow === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await sendRaw(url, rawGet('/new-netbox-session', ['Host: gateway.test', cookie]))).status).toBe(200);
    releaseSlow();
    expect((await slow).status).toBe(200);
    const stored = await store.get(sid);
    expect(stored?.user).toMatchObject({ lastSeenAt: now + 31_000, netboxCookies: { sessionid: 'new' }, netboxReloginAt: now });
  });
});
