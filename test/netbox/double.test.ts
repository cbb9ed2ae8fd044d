import { afterEach, describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { startNetboxDouble, type NetboxDouble, type NetboxDoubleOptions } from '../netbox-double/index.js';

// The double's ObjectPermissions, object types and remote-user group sync: what the gateway's NetBox semantics
// are tested against must itself behave like NetBox.

let double: NetboxDouble;
let token: string;
afterEach(async () => {
  await double?.close();
});

async function start(options: NetboxDoubleOptions = {}): Promise<void> {
  double = await startNetboxDouble(options);
  token = double.state.addServiceToken().authorization;
}

async function api(method: string, path: string, body?: unknown, authorization = token): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${double.url}${path}`, {
    method,
    headers: { Authorization: authorization, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

describe('NetBox double: ObjectPermissions (/api/users/permissions/)', () => {
  it('creates one with DRF defaults and reads it back with nested groups and users', async () => {
    await start();
    const group = double.state.addGroup('admins');
    const user = double.state.addUser({ username: 'alice' });
    const created = await api('POST', '/api/users/permissions/', {
      name: 'All devices',
      object_types: ['dcim.device', 'dcim.site'],
      actions: ['view', 'change'],
      groups: [group.id],
      users: [user.id],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'All devices',
      description: '',
      enabled: true,
      object_types: ['dcim.device', 'dcim.site'],
      actions: ['view', 'change'],
      constraints: null,
      groups: [{ id: group.id, name: 'admins' }],
      users: [{ id: user.id, username: 'alice' }],
    });
    const id = Number(created.json['id']);
    expect((await api('GET', `/api/users/groups/${group.id}/`)).json['permissions']).toMatchObject([{ id, name: 'All devices' }]);
    expect((await api('GET', `/api/users/users/${user.id}/`)).json['permissions']).toMatchObject([{ id, actions: ['view', 'change'] }]);
    expect((await api('PATCH', `/api/users/permissions/${id}/`, { enabled: false, groups: [] })).json).toMatchObject({ enabled: false, groups: [] });
    expect((await api('DELETE', `/api/users/permissions/${id}/`)).status).toBe(204);
    expect((await api('DELETE', `/api/users/permissions/${id}/`)).status).toBe(404);
  });

  it('refuses bad data with NetBox\'s messages', async () => {
    await start();
    expect((await api('POST', '/api/users/permissions/', {})).json).toEqual({
      name: ['This field is required.'],
      object_types: ['This field is required.'],
      actions: ['This field is required.'],
    });
    const base = { name: 'x', object_types: ['dcim.site'], actions: ['view'] };
    expect((await api('POST', '/api/users/permissions/', { ...base, name: 'n'.repeat(101) })).json).toEqual({
      name: ['Ensure this field has no more than 100 characters.'],
    });
    expect((await api('POST', '/api/users/permissions/', { ...base, object_types: ['dcim.nothing'] })).json).toEqual({
      object_types: ['Invalid content type: dcim.nothing'],
    });
    expect((await api('POST', '/api/users/permissions/', { ...base, object_types: ['dcim'] })).json).toEqual({
      object_types: ["Invalid value. Specify a content type as '<app_label>.<model_name>'."],
    });
    expect((await api('POST', '/api/users/permissions/', { ...base, object_types: 'dcim.site' })).json).toEqual({
      object_types: ['Expected a list of items but got type "str".'],
    });
    expect((await api('POST', '/api/users/permissions/', { ...base, actions: [] })).json).toEqual({ actions: ['This field cannot be blank.'] });
    expect((await api('POST', '/api/users/permissions/', { ...base, actions: ['a'.repeat(31)] })).json).toEqual({
      actions: ['Ensure this field has no more than 30 characters.'],
    });
    expect((await api('POST', '/api/users/permissions/', { ...base, groups: [42] })).json).toEqual({ groups: ['Invalid pk "42" - object does not exist.'] });
    const group = double.state.addGroup('ops');
    expect((await api('PATCH', `/api/users/groups/${group.id}/`, { permissions: [7] })).json).toEqual({
      permissions: ['Invalid pk "7" - object does not exist.'],
    });
    expect(double.state.permissions.size).toBe(0);
  });

  it('filters by exact name (names are not unique), group and user', async () => {
    await start();
    const a = double.state.addPermission({ name: 'Same', objectTypes: ['dcim.site'], actions: ['view'], groups: ['ops'] });
    const b = double.state.addPermission({ name: 'Same', objectTypes: ['dcim.site'], actions: ['view'] });
    double.state.addPermission({ name: 'same', objectTypes: ['dcim.site'], actions: ['view'] });
    const ids = async (query: string) => ((await api('GET', `/api/users/permissions/?${query}`)).json['results'] as Array<{ id: number }>).map((p) => p.id);
    expect(await ids('name=Same')).toEqual([a.id, b.id]);
    expect(await ids(`group_id=${double.state.groupByName('ops')?.id}`)).toEqual([a.id]);
  });

  it('grants what it names to members of its groups, and is what the permission checks consult', async () => {
    await start();
    const alice = double.state.addUser({ username: 'alice', groups: ['readers'] });
    const { authorization } = double.state.addToken({ userId: alice.id, version: 1 });
    expect((await api('GET', '/api/users/users/', undefined, authorization)).status).toBe(403);
    expect((await api('GET', '/api/users/permissions/', undefined, authorization)).status).toBe(403);
    const permission = double.state.addPermission({ name: 'Read users', objectTypes: ['users.user'], actions: ['view'], groups: ['readers'] });
    expect((await api('GET', '/api/users/users/', undefined, authorization)).status).toBe(200);
    expect((await api('POST', '/api/users/groups/', { name: 'x' }, authorization)).status).toBe(403);
    permission.enabled = false;
    expect((await api('GET', '/api/users/users/', undefined, authorization)).status).toBe(403);
  });
});

describe('NetBox double: object types', () => {
  it.each([
    ['4.3', ['extras'], ['core']],
    ['4.4', ['extras', 'core'], []],
    ['4.6.0', ['core'], ['extras']],
    ['4.6.8', ['core'], ['extras']],
  ] as const)('%s lists them under %j only', async (version, present, absent) => {
    await start({ version });
    for (const app of present) {
      const list = await api('GET', `/api/${app}/object-types/?limit=0`);
      expect(list.json['count']).toBe(double.state.objectTypes.length);
      const device = (list.json['results'] as Array<Record<string, unknown>>).find((t) => t['app_label'] === 'dcim' && t['model'] === 'device');
      if (version === '4.3') expect(device).not.toHaveProperty('public');
      else expect(device).toMatchObject({ public: true, url: expect.stringContaining('/api/core/object-types/') });
    }
    for (const app of absent) expect((await api('GET', `/api/${app}/object-types/`)).status).toBe(404);
  });

  it('caps pages at MAX_PAGE_SIZE', async () => {
    await start({ maxPageSize: 10 });
    const page = await api('GET', '/api/core/object-types/?limit=1000');
    expect(page.json['results']).toHaveLength(10);
    expect(page.json['next']).toContain('offset=10');
  });
});

describe('NetBox double: remote-user group sync (RemoteUserBackend.configure_groups)', () => {
  const login = (browser: CookieBrowser, username: string, groups?: string, extra: Record<string, string> = {}) =>
    browser.get('/login/?next=/', { 'Remote-User': username, ...(groups === undefined ? {} : { 'Remote-User-Group': groups }), ...extra });

  it('sets the groups to exactly the header\'s, skipping unknown ones unless AUTO_CREATE_GROUPS, and derives is_superuser', async () => {
    await start({ remoteAuth: { enabled: true, autoCreateUser: true, groupSyncEnabled: true, superuserGroups: ['root'] } });
    double.state.addGroup('ops');
    double.state.addGroup('root');
    await login(new CookieBrowser(double.url), 'alice', 'ops|root|unknown');
    const alice = double.state.userByExactName('alice');
    expect(alice && double.state.groupNamesOf(alice)).toEqual(['ops', 'root']);
    expect(alice?.isSuperuser).toBe(true);
    expect(double.state.groupByName('unknown')).toBeUndefined();
    await login(new CookieBrowser(double.url), 'alice');
    expect(alice && double.state.groupNamesOf(alice)).toEqual([]);
    expect(alice?.isSuperuser).toBe(false);
  });

  it('creates groups with AUTO_CREATE_GROUPS, honours REMOTE_AUTH_SUPERUSERS and a custom header and separator', async () => {
    await start({
      remoteAuth: { enabled: true, autoCreateUser: true, autoCreateGroups: true, groupSyncEnabled: true, superusers: ['bob'], groupHeader: 'X-Groups', groupSeparator: ',' },
    });
    await new CookieBrowser(double.url).get('/', { 'Remote-User': 'bob', 'X-Groups': 'a,b' });
    const bob = double.state.userByExactName('bob');
    expect(bob && double.state.groupNamesOf(bob)).toEqual(['a', 'b']);
    expect(bob?.isSuperuser).toBe(true);
  });

  it('syncs only when a session starts, not on later requests of the same session', async () => {
    await start({ remoteAuth: { enabled: true, autoCreateUser: true, autoCreateGroups: true, groupSyncEnabled: true, superuserGroups: ['root'] } });
    const browser = new CookieBrowser(double.url);
    await login(browser, 'alice', 'ops');
    await login(browser, 'alice', 'root');
    const alice = double.state.userByExactName('alice');
    expect(alice && double.state.groupNamesOf(alice)).toEqual(['ops']);
    expect(alice?.isSuperuser).toBe(false);
  });

  it.each([
    ['4.4', true],
    ['4.6.8', false],
  ] as const)('on %s staff groups set is_staff: %s', async (version, staff) => {
    await start({ version, remoteAuth: { enabled: true, autoCreateUser: true, autoCreateGroups: true, groupSyncEnabled: true, staffGroups: ['staff'] } });
    await login(new CookieBrowser(double.url), 'alice', 'staff');
    expect(double.state.userByExactName('alice')?.isStaff).toBe(staff);
  });

  it('without group sync ignores the group header, and gives new users the default groups that exist', async () => {
    await start({ remoteAuth: { enabled: true, autoCreateUser: true, defaultGroups: ['readers', 'missing'], superuserGroups: ['root'] } });
    double.state.addGroup('readers');
    double.state.addGroup('root');
    await login(new CookieBrowser(double.url), 'alice', 'root');
    const alice = double.state.userByExactName('alice');
    expect(alice && double.state.groupNamesOf(alice)).toEqual(['readers']);
    expect(alice?.isSuperuser).toBe(false);
  });

  it('copies the profile headers NetBox reads by default', async () => {
    await start({ remoteAuth: { enabled: true, autoCreateUser: true } });
    await login(new CookieBrowser(double.url), 'alice', undefined, { 'Remote-User-First-Name': 'Alice', 'Remote-User-Email': 'alice@example.com' });
    expect(double.state.userByExactName('alice')).toMatchObject({ firstName: 'Alice', lastName: '', email: 'alice@example.com' });
  });
});

describe('NetBox double: request log', () => {
  it('keeps the body of API requests', async () => {
    await start();
    await api('POST', '/api/users/groups/', { name: 'ops' });
    expect(double.state.requestsTo('/api/users/groups/')[0]?.body).toBe('{"name":"ops"}');
  });
});
