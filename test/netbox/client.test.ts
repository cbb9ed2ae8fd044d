import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { NetboxClient, NetboxValidationError } from '../../src/netbox/client.js';
import { NetboxUnavailable } from '../../src/netbox/types.js';
import { NetboxVersion } from '../../src/netbox/version.js';
import { SERVICE_USERNAME, startNetboxDouble } from '../netbox-double/index.js';
import { fixture, rejection, VERSIONS, type Fixture } from './helpers.js';

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

describe('NetboxClient: the NetBox release', () => {
  it('asks /api/status/ once, however many callers want the version at once', async () => {
    f = await fixture({ version: '4.4' });
    const versions = await Promise.all([f.client.version(), f.client.version(), f.client.version()]);
    expect(versions.map((v) => v.text)).toEqual(['4.4.10', '4.4.10', '4.4.10']);
    await f.client.version();
    expect(f.netbox.state.requestsTo('/api/status/')).toHaveLength(1);
  });

  it('asks again once NetBox answers after an outage, and says so', async () => {
    f = await fixture({ version: '4.6.8' });
    await f.client.version();
    f.netbox.state.fail('unavailable');
    await expect(f.client.findUsers('alice')).rejects.toMatchObject({ status: 503 });
    await expect(f.client.version()).rejects.toMatchObject({ status: 503 });
    f.netbox.state.fail('none');
    expect((await f.client.version()).text).toBe('4.6.8');
    await f.client.version();
    expect(f.netbox.state.requestsTo('/api/status/')).toHaveLength(3);
    expect(f.entries.filter((e) => e.message === 'NetBox answers again')).toHaveLength(1);
  });

  it('adapts when NetBox comes back from an outage as another release', async () => {
    f = await fixture({ version: '4.4' });
    expect((await f.client.version()).hasStaffFlag).toBe(true);
    const port = f.netbox.port;
    await f.netbox.close();
    await expect(f.client.findUsers('alice')).rejects.toThrow(/ECONNREFUSED/);
    const upgraded = await startNetboxDouble({ version: '4.6.8', port });
    try {
      const service = upgraded.state.addUser({ username: SERVICE_USERNAME, isSuperuser: true });
      upgraded.state.addToken({ userId: service.id, version: 1, secret: f.token });
      const version = await f.client.version();
      expect([version.text, version.hasStaffFlag]).toEqual(['4.6.8', false]);
      expect(f.entries.find((e) => /another release/.test(e.message))?.fields).toEqual({ previous: '4.4.10', version: '4.6.8' });
    } finally {
      await upgraded.close();
    }
  });

  it('netboxVersion() asks now and refreshes what version() remembers', async () => {
    f = await fixture({ version: '4.6.0' });
    expect(await f.client.netboxVersion()).toBe('4.6.0');
    expect((await f.client.version()).text).toBe('4.6.0');
    expect(f.netbox.state.requestsTo('/api/status/')).toHaveLength(1);
  });

  it.each([
    ['4.3', '/api/extras/object-types/', false],
    ['4.4', '/api/core/object-types/', true],
    ['4.6.8', '/api/core/object-types/', true],
  ] as const)('lists object types on %s at %s', async (version, path, hasPublic) => {
    f = await fixture({ version });
    const types = await f.client.listObjectTypes();
    expect(types).toHaveLength(f.netbox.state.objectTypes.length);
    expect(types.find((t) => t.name === 'dcim.device')).toEqual({ name: 'dcim.device', appLabel: 'dcim', model: 'device', public: hasPublic ? true : undefined });
    expect(f.netbox.state.requests.filter((r) => r.path.includes('object-types')).every((r) => r.path.startsWith(path))).toBe(true);
  });

  it('reads is_staff where NetBox has it (4.4) and reports it absent where it does not', async () => {
    for (const version of VERSIONS) {
      f = await fixture({ version });
      f.netbox.state.addUser({ username: 'alice', isStaff: true });
      const [alice] = await f.client.findUsers('alice');
      expect(alice?.isStaff).toBe(version === '4.4' ? true : undefined);
      await f.netbox.close();
    }
  });
});

describe('NetboxClient: ObjectPermissions', () => {
  it('creates, finds by exact name, updates and deletes, and tolerates deleting one already gone', async () => {
    f = await fixture();
    const group = f.netbox.state.addGroup('admins');
    f.netbox.state.addPermission({ name: 'Other', objectTypes: ['dcim.site'], actions: ['view'] });
    const created = await f.client.createPermission({ name: 'Mine', objectTypes: ['dcim.site', 'dcim.device'], actions: ['view', 'change'], groupIds: [group.id] });
    expect(created).toMatchObject({ name: 'Mine', enabled: true, objectTypes: ['dcim.device', 'dcim.site'], actions: ['view', 'change'], constraints: null, groupIds: [group.id], userIds: [] });
    expect((await f.client.findPermissions('Mine')).map((p) => p.id)).toEqual([created.id]);
    expect(await f.client.findPermissions('mine')).toEqual([]);
    const updated = await f.client.updatePermission(created.id, { enabled: false, groupIds: [] });
    expect(updated).toMatchObject({ enabled: false, groupIds: [] });
    await f.client.deletePermission(created.id);
    await f.client.deletePermission(created.id);
    expect(f.netbox.state.permissions.size).toBe(1);
  });

  it('surfaces NetBox\'s refusal of an unknown object type', async () => {
    f = await fixture();
    const error = (await rejection(f.client.createPermission({ name: 'x', objectTypes: ['dcim.nothing'], actions: ['view'] }))) as NetboxValidationError;
    expect(error).toBeInstanceOf(NetboxValidationError);
    expect(error.errors).toEqual({ object_types: ['Invalid content type: dcim.nothing'] });
  });
});

describe('NetboxVersion', () => {
  it('parses what /api/status/ reports, pre-releases included', () => {
    expect(NetboxVersion.parse('4.7.0-beta1')).toMatchObject({ major: 4, minor: 7, patch: 0, text: '4.7.0-beta1' });
    expect(NetboxVersion.parse('4.4')).toMatchObject({ major: 4, minor: 4, patch: 0 });
    expect(NetboxVersion.parse('v4.6.8')).toMatchObject({ major: 4, minor: 6, patch: 8 });
    expect(NetboxVersion.parse('unknown')).toBeUndefined();
  });

  it('compares numerically and answers what differs by release', () => {
    const v = (text: string) => {
      const parsed = NetboxVersion.parse(text);
      if (!parsed) throw new Error(text);
      return parsed;
    };
    expect(v('4.10.0').compare(v('4.9.9'))).toBeGreaterThan(0);
    expect(v('4.6.8').atLeast(4, 6, 1)).toBe(true);
    expect(v('4.6.0').atLeast(4, 6, 1)).toBe(false);
    expect(['3.7.8', '4.0.0', '4.4.10', '4.7.0-beta1', '4.8.0'].map((t) => v(t).supported)).toEqual([false, true, true, true, false]);
    expect(['4.0.0', '4.4.10', '4.5.0', '4.7.0'].map((t) => v(t).hasStaffFlag)).toEqual([true, true, false, false]);
    expect(['4.3.7', '4.4.0', '4.6.8'].map((t) => v(t).objectTypesPath)).toEqual(['extras/object-types/', 'core/object-types/', 'core/object-types/']);
  });
});
