import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { NetboxClient, NetboxValidationError } from '../../src/netbox/client.js';
import { NetboxUnavailable } from '../../src/netbox/types.js';
import { fixture, rejection, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => {
  await f?.netbox.close();
});

describe('NetboxClient', () => {
  it('sends a v1 token as "Token <token>"', async () => {
    f = await fixture({ tokenVersion: 1 });
    expect(await f.client.netboxVersion()).toBe('4.6.8');
    expect(f.netbox.state.requestsTo('/api/status/')[0]?.headers['authorization']).toBe(`Token ${f.token}`);
  });

  it('sends a v2 token as "Bearer nbt_..."', async () => {
    f = await fixture({ tokenVersion: 2 });
    expect(f.token).toMatch(/^nbt_/);
    expect(await f.client.netboxVersion()).toBe('4.6.8');
    expect(f.netbox.state.requestsTo('/api/status/')[0]?.headers['authorization']).toBe(`Bearer ${f.token}`);
  });

  it('refuses a token that still carries its keyword', () => {
    expect(() => new NetboxClient({ baseUrl: new URL('http://127.0.0.1:1/'), token: 'Token abc', timeoutMs: 1000, logger: silentLogger })).toThrow(
      /bare token/,
    );
  });

  it('finds users ignoring case and groups by exact name, always with trailing slashes', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'Alice', groups: ['ops', 'Ops'] });
    expect((await f.client.findUsers('ALICE')).map((u) => u.username)).toEqual(['Alice']);
    expect((await f.client.findGroups(['ops', 'missing'])).map((g) => g.name)).toEqual(['ops']);
    expect(f.netbox.state.requests.every((r) => new URL(r.path, 'http://x').pathname.endsWith('/'))).toBe(true);
  });

  it('splits long group lookups into several requests', async () => {
    f = await fixture();
    const names = Array.from({ length: 45 }, (_, i) => `group-${i}`);
    for (const name of names) f.netbox.state.addGroup(name);
    f.netbox.state.clearRequests();
    expect(await f.client.findGroups(names)).toHaveLength(45);
    expect(f.netbox.state.requestsTo('/api/users/groups/')).toHaveLength(2);
  });

  it('exposes a 400 as NetboxValidationError, which is also a NetboxUnavailable', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'alice' });
    const error = await rejection(f.client.createUser({ username: 'ALICE', password: 'Long-enough-password-1' }));
    expect(error).toBeInstanceOf(NetboxValidationError);
    expect(error).toBeInstanceOf(NetboxUnavailable);
    expect((error as NetboxValidationError).errors).toEqual({ __all__: ['A user with this username already exists.'] });
    expect((error as NetboxValidationError).alreadyExists).toBe(true);
    const weak = (await rejection(f.client.createUser({ username: 'bob', password: 'weak' }))) as NetboxValidationError;
    expect(weak).toBeInstanceOf(NetboxValidationError);
    expect(weak.alreadyExists).toBe(false);
    expect(weak.message).toContain('too short');
  });

  it('reports a 403 with NetBox\'s detail and never the token', async () => {
    f = await fixture();
    const wrong = 'x'.repeat(40);
    const client = new NetboxClient({ baseUrl: new URL(f.netbox.url), token: wrong, timeoutMs: 2000, logger: silentLogger });
    const error = (await rejection(client.findUsers('alice'))) as NetboxUnavailable;
    expect(error).toBeInstanceOf(NetboxUnavailable);
    expect(error.status).toBe(403);
    expect(error.message).toContain('Invalid token');
    expect(error.message).not.toContain(wrong);
  });

  it('turns 503, a 500 and a hang (timeout) into NetboxUnavailable', async () => {
    f = await fixture({ timeoutMs: 300 });
    f.netbox.state.fail('unavailable');
    await expect(f.client.netboxVersion()).rejects.toMatchObject({ name: 'NetboxUnavailable', status: 503 });
    f.netbox.state.fail('users-post');
    await expect(f.client.createUser({ username: 'a', password: 'Long-enough-password-1' })).rejects.toMatchObject({
      status: 500,
      message: expect.stringContaining('could not obtain lock'),
    });
    f.netbox.state.fail('hang');
    const started = Date.now();
    await expect(f.client.findUsers('alice')).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('turns a refused connection into NetboxUnavailable', async () => {
    f = await fixture();
    const url = new URL(f.netbox.url);
    await f.netbox.close();
    const client = new NetboxClient({ baseUrl: url, token: f.token, timeoutMs: 1000, logger: silentLogger });
    await expect(client.netboxVersion()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('keeps a BASE_PATH from the base URL, and reports a redirect instead of following it', async () => {
    f = await fixture();
    const client = new NetboxClient({ baseUrl: new URL(`${f.netbox.url}/netbox`), token: f.token, timeoutMs: 1000, logger: silentLogger });
    // The double has no BASE_PATH, so /netbox/api/status/ is a page: a 302 to its login form.
    await expect(client.netboxVersion()).rejects.toMatchObject({ name: 'NetboxUnavailable', status: 302 });
    expect(f.netbox.state.requests.map((r) => r.path)).toEqual(['/netbox/api/status/']);
  });
});
