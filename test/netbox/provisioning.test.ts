import { afterEach, describe, expect, it } from 'vitest';
import { NetboxClient, NetboxValidationError } from '../../src/netbox/client.js';
import type { GroupGrantStore } from '../../src/netbox/group-grants.js';
import type { RestProvisionerOptions } from '../../src/netbox/provisioning.js';
import { SqliteGroupGrantStore } from '../../src/netbox/sqlite-group-grants.js';
import { grantableObjectTypes, SUPERUSER_ACTIONS, SUPERUSER_PERMISSION_NAME } from '../../src/netbox/superuser-permission.js';
import { NetboxUnavailable, UserNotAllowed } from '../../src/netbox/types.js';
import { objectTypeName, type NetboxVersion } from '../netbox-double/index.js';
import { fixture, passwordFor, provisionerFor, rejection, request, VERSIONS, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => {
  await f?.netbox.close();
});

const provisioner = (options: Partial<RestProvisionerOptions> = {}) => provisionerFor(f, options);

function userWrites() {
  return f.netbox.state.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/users/users/'));
}

function permissionRequests() {
  return f.netbox.state.requestsTo('/api/users/permissions/');
}

/** What NetBox's own permission form would offer, computed from the double's catalogue independently of the gateway. */
function expectedObjectTypes(version: NetboxVersion): string[] {
  const types = f.netbox.state.objectTypes;
  const grantable =
    version === '4.3'
      ? types.filter((t) => !['auth', 'contenttypes', 'sessions', 'taggit', 'users'].includes(t.appLabel) || (t.appLabel === 'users' && ['group', 'objectpermission', 'token', 'user'].includes(t.model)))
      : types.filter((t) => (t.public && objectTypeName(t) !== 'core.objecttype') || ['core.managedfile', 'extras.scriptmodule', 'extras.taggeditem'].includes(objectTypeName(t)));
  return grantable.map(objectTypeName).sort();
}

const superuserOptions = (overrides: Partial<RestProvisionerOptions> = {}): Partial<RestProvisionerOptions> => ({
  superuserGroups: ['netbox-superusers'],
  grantSuperuserPermission: true,
  ...overrides,
});

describe.each(VERSIONS)('RestProvisioner against NetBox %s', (version) => {
  const start = (options: Parameters<typeof fixture>[0] = {}) => fixture({ version, ...options });

  describe('new users', () => {
    it('creates missing groups, then the user in one POST with groups, profile, is_active and the derived password', async () => {
      f = await start();
      f.netbox.state.addGroup('ops');
      const user = await provisioner().provision(request());
      expect(user).toEqual({ id: expect.any(Number), username: 'alice', groups: ['netbox-readers', 'ops'] });
      const stored = f.netbox.state.user(user.id);
      expect(stored).toMatchObject({ firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com', isActive: true, isSuperuser: false });
      expect(stored && f.netbox.state.checkPassword(stored, passwordFor('alice'))).toBe(true);
      expect(userWrites().map((r) => r.method)).toEqual(['POST']);
      expect([...f.netbox.state.groups.values()].map((g) => g.name).sort()).toEqual(['netbox-readers', 'ops']);
    });

    it('refuses an unknown user when auto-create is off, creating nothing', async () => {
      f = await start();
      await expect(provisioner({ autoCreateUser: false }).provision(request({ groups: [] }))).rejects.toBeInstanceOf(UserNotAllowed);
      expect(f.netbox.state.findUser('alice')).toBeUndefined();
    });

    it('leaves no user behind when the create fails', async () => {
      f = await start();
      f.netbox.state.fail('users-post');
      await expect(provisioner().provision(request())).rejects.toMatchObject({ name: 'NetboxUnavailable', status: 500 });
      expect(f.netbox.state.findUser('alice')).toBeUndefined();
    });

    it('surfaces NetBox validation errors', async () => {
      f = await start();
      const error = await rejection(provisioner().provision(request({ username: 'a'.repeat(151), groups: [] })));
      expect(error).toBeInstanceOf(NetboxValidationError);
      expect((error as NetboxValidationError).errors).toEqual({ username: ['Ensure this field has no more than 150 characters.'] });
    });
  });

  describe('group sync modes', () => {
    it('replace: exactly the wanted groups, in one PATCH, and reactivates the user', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'legacy'], isActive: false });
      const user = await provisioner({ syncMode: 'replace' }).provision(request({ groups: ['ops', 'netbox-new'] }));
      expect(user.groups).toEqual(['netbox-new', 'ops']);
      expect(f.netbox.state.findUser('alice')?.isActive).toBe(true);
      expect(userWrites().map((r) => r.method)).toEqual(['PATCH']);
      expect(f.entries.find((e) => e.message === 'updated NetBox user')?.fields).toMatchObject({ added: ['netbox-new'], removed: ['legacy'] });
    });

    it('managed: hand-assigned groups survive, managed groups follow the roles', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'netbox-admins', 'site-paris', 'Auditors'] });
      const user = await provisioner({ syncMode: 'managed' }).provision(request({ groups: ['ops', 'netbox-readers'] }));
      expect(user.groups).toEqual(['Auditors', 'netbox-readers', 'ops', 'site-paris']);
    });

    it('managed: a group given by hand stays even where the rules could produce it (built-in rules), once the user has a record', async () => {
      f = await start();
      const gateway = provisioner({ syncMode: 'managed', manages: () => true });
      await gateway.provision(request({ groups: ['ops', 'netbox-admins'] }));
      f.netbox.state.user(f.netbox.state.findUser('alice')!.id)!.groupIds.add(f.netbox.state.addGroup('hand-picked').id);
      expect((await gateway.provision(request({ groups: ['ops'] }))).groups).toEqual(['hand-picked', 'ops']);
      expect((await gateway.provision(request({ groups: [] }))).groups).toEqual(['hand-picked']);
    });

    it('managed: with the record lost, the next login takes the groups the rules produce for its own, and removes those AAA no longer sends', async () => {
      f = await start();
      await provisioner({ syncMode: 'managed' }).provision(request({ groups: ['ops', 'netbox-admins'] }));
      const alice = f.netbox.state.user(f.netbox.state.findUser('alice')!.id)!;
      alice.groupIds.add(f.netbox.state.addGroup('Auditors').id);
      // A new store: the record of what the gateway granted is gone.
      const afterLoss = provisioner({ syncMode: 'managed', grants: new SqliteGroupGrantStore(':memory:') });
      expect((await afterLoss.provision(request({ groups: ['ops'] }))).groups).toEqual(['Auditors', 'ops']);
      // From then on the new record holds: a group given by hand, even a name the rules could produce, stays.
      alice.groupIds.add(f.netbox.state.addGroup('netbox-auditors').id);
      expect((await afterLoss.provision(request({ groups: [] }))).groups).toEqual(['Auditors', 'netbox-auditors']);
    });

    it('managed: records what it is about to grant before NetBox is changed, and what it granted after', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'netbox-old'] });
      const inner = new SqliteGroupGrantStore(':memory:');
      const writes: { groups: string[]; patchesBefore: number }[] = [];
      const grants: GroupGrantStore = {
        get: (id) => inner.get(id),
        set: async (id, groups) => {
          writes.push({ groups: [...groups].sort(), patchesBefore: userWrites().filter((r) => r.method === 'PATCH').length });
          await inner.set(id, groups);
        },
        close: () => inner.close(),
      };
      await provisioner({ syncMode: 'managed', grants }).provision(request({ groups: ['ops', 'netbox-new'] }));
      expect(writes).toEqual([
        { groups: ['netbox-new', 'netbox-old', 'ops'], patchesBefore: 0 },
        { groups: ['netbox-new', 'ops'], patchesBefore: 1 },
      ]);
    });

    it('provisions each user inside acrossReplicas (the Redis lock), keyed by the lower-cased name', async () => {
      f = await start();
      const keys: string[] = [];
      let writesInside = 0;
      const acrossReplicas = async <T,>(key: string, work: () => Promise<T>): Promise<T> => {
        keys.push(key);
        const before = userWrites().length;
        const result = await work();
        writesInside = userWrites().length - before;
        return result;
      };
      await provisioner({ syncMode: 'managed', acrossReplicas }).provision(request({ username: 'Alice' }));
      expect(keys).toEqual(['alice']);
      expect(writesInside).toBe(1);
    });

    it('add: never removes a group', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'legacy', 'netbox-admins'] });
      const user = await provisioner({ syncMode: 'add' }).provision(request({ groups: ['netbox-new'] }));
      expect(user.groups).toEqual(['legacy', 'netbox-admins', 'netbox-new', 'ops']);
    });

    it.each(['replace', 'managed'] as const)('%s: a user whose roles shrink loses those groups at the next login', async (syncMode) => {
      f = await start();
      const gateway = provisioner({ syncMode });
      await gateway.provision(request({ groups: ['ops', 'netbox-admins'] }));
      f.netbox.state.user(f.netbox.state.findUser('alice')?.id ?? 0)?.groupIds.add(f.netbox.state.addGroup('by-hand').id);
      const shrunk = await gateway.provision(request({ groups: ['ops'] }));
      expect(shrunk.groups).toEqual(syncMode === 'replace' ? ['ops'] : ['by-hand', 'ops']);
      const none = await gateway.provision(request({ groups: [] }));
      expect(none.groups).toEqual(syncMode === 'replace' ? [] : ['by-hand']);
    });

    it('add: a user whose roles shrink keeps every group', async () => {
      f = await start();
      const gateway = provisioner({ syncMode: 'add' });
      await gateway.provision(request({ groups: ['ops', 'netbox-admins'] }));
      expect((await gateway.provision(request({ groups: ['ops'] }))).groups).toEqual(['netbox-admins', 'ops']);
    });

    it('writes nothing when NetBox already matches, in every mode', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'by-hand'], firstName: 'Alice', email: 'alice@example.com' });
      const profile = { firstName: 'Alice', email: 'alice@EXAMPLE.com' };
      await provisioner({ syncMode: 'managed' }).provision(request({ groups: ['ops'], profile }));
      await provisioner({ syncMode: 'add' }).provision(request({ groups: ['ops'], profile }));
      await provisioner({ syncMode: 'replace' }).provision(request({ groups: ['ops', 'by-hand'], profile }));
      expect(userWrites()).toEqual([]);
    });
  });

  describe('existing users and profile', () => {
    it('finds a user whose stored name differs in case and returns the stored name', async () => {
      f = await start();
      const existing = f.netbox.state.addUser({ username: 'Alice' });
      const user = await provisioner().provision(request({ username: 'alice' }));
      expect(user.id).toBe(existing.id);
      expect(user.username).toBe('Alice');
      expect(f.netbox.state.users.size).toBe(2);
    });

    it('sets first name, last name and e-mail only when sent, never blanks them, never touches the password', async () => {
      f = await start();
      const existing = f.netbox.state.addUser({ username: 'alice', password: 'Local-password-1', firstName: 'Alice', lastName: 'L', email: 'a@example.com' });
      await provisioner().provision(request({ groups: ['ops'], profile: { lastName: 'Liddell' } }));
      expect(f.netbox.state.user(existing.id)).toMatchObject({ firstName: 'Alice', lastName: 'Liddell', email: 'a@example.com' });
      await provisioner().provision(request({ groups: ['ops'], profile: { firstName: '', email: 'alice@example.org' } }));
      expect(f.netbox.state.user(existing.id)).toMatchObject({ firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.org' });
      expect(f.netbox.state.checkPassword(existing, 'Local-password-1')).toBe(true);
      expect(existing.passwordGeneration).toBe(1);
    });

    it('saves the user without profile attributes NetBox refuses', async () => {
      f = await start();
      const user = await provisioner().provision(request({ profile: { firstName: 'Alice', email: 'not-an-address' } }));
      expect(f.netbox.state.user(user.id)).toMatchObject({ firstName: '', email: '' });
      expect(f.entries.some((e) => e.level === 'warn' && /profile/.test(e.message))).toBe(true);
    });

    it('refuses to pick between users that differ only in case', async () => {
      f = await start();
      f.netbox.state.addUser({ username: 'Alice' });
      f.netbox.state.insertUser('ALICE');
      await expect(provisioner().provision(request({ username: 'alice' }))).rejects.toThrow(/2 users named alice ignoring case/);
      const exact = await provisioner().provision(request({ username: 'ALICE', groups: [] }));
      expect(exact.username).toBe('ALICE');
    });
  });

  describe('staff', () => {
    const hasStaff = version === '4.4';

    it(hasStaff ? 'sets is_staff for staff, clears it when the staff group goes' : 'ignores staff with one warning: NetBox 4.5+ has no is_staff', async () => {
      f = await start();
      const gateway = provisioner({ manageStaff: true });
      const user = await gateway.provision(request({ staff: true }));
      await gateway.provision(request({ username: 'bob', staff: true }));
      const stored = f.netbox.state.user(user.id);
      const bodies = userWrites().map((r) => r.method);
      expect(bodies).toEqual(['POST', 'POST']);
      const warnings = f.entries.filter((e) => e.level === 'warn' && /staff groups are ignored/.test(e.message));
      if (hasStaff) {
        expect(stored?.isStaff).toBe(true);
        expect(warnings).toEqual([]);
        await gateway.provision(request({ staff: false }));
        expect(stored?.isStaff).toBe(false);
      } else {
        expect(stored?.isStaff).toBe(false);
        expect(warnings).toHaveLength(1);
        expect(userWrites().filter((r) => r.body?.includes('is_staff'))).toEqual([]);
      }
    });

    it('leaves is_staff alone without staff groups, and only raises it in add mode', async () => {
      f = await start();
      const admin = f.netbox.state.addUser({ username: 'alice', isStaff: true, groups: ['ops', 'netbox-readers'], firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com' });
      await provisioner({ manageStaff: false }).provision(request({ staff: false }));
      await provisioner({ manageStaff: true, syncMode: 'add' }).provision(request({ staff: false }));
      expect(admin.isStaff).toBe(true);
      expect(userWrites()).toEqual([]);
    });
  });

  describe('superuser in password mode', () => {
    it('creates the permission at the first superuser login: every grantable object type and action, bound to the superuser groups', async () => {
      f = await start();
      const gateway = provisioner(superuserOptions());
      await gateway.provision(request({ username: 'bob' }));
      expect(permissionRequests()).toEqual([]);
      const user = await gateway.provision(request({ groups: ['ops', 'netbox-superusers'], superuser: true }));
      const [permission, ...others] = f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME);
      expect(others).toEqual([]);
      const group = f.netbox.state.groupByName('netbox-superusers');
      expect(permission).toMatchObject({ enabled: true, constraints: null, actions: [...SUPERUSER_ACTIONS] });
      expect(permission?.description).toMatch(/Managed by netbox-aaa-gateway/);
      expect([...(permission?.groupIds ?? [])]).toEqual([group?.id]);
      expect([...(permission?.userIds ?? [])]).toEqual([]);
      expect([...(permission?.objectTypes ?? [])].sort()).toEqual(expectedObjectTypes(version));
      expect(f.entries.some((e) => e.message === 'created the superuser ObjectPermission')).toBe(true);
      // Effective in NetBox: the superuser group's members may do anything a permission can grant.
      const stored = f.netbox.state.user(user.id);
      expect(stored?.isSuperuser).toBe(false);
      for (const perm of ['dcim.add_device', 'users.change_user', 'users.delete_objectpermission', 'extras.run_script', 'users.grant_token']) {
        expect(stored && f.netbox.state.hasPerm(stored, perm)).toBe(true);
      }
      // 4.4 still has the old endpoint as an alias; the gateway asks the current one.
      expect(f.netbox.state.requestsTo('/api/core/object-types/').length).toBeGreaterThan(0);
      expect(f.netbox.state.requestsTo('/api/extras/object-types/').length).toBe(0);
    });

    it('creates the superuser groups when they do not exist, even those the user is not in', async () => {
      f = await start();
      await provisioner(superuserOptions({ superuserGroups: ['netbox-superusers', 'netbox-root'] })).provision(
        request({ groups: ['netbox-root'], superuser: true }),
      );
      const [permission] = f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME);
      const ids = ['netbox-superusers', 'netbox-root'].map((name) => f.netbox.state.groupByName(name)?.id);
      expect([...(permission?.groupIds ?? [])].sort()).toEqual(ids.sort());
    });

    it('checks once per interval, not at every login, and writes nothing when it is intact', async () => {
      f = await start();
      const gateway = provisioner(superuserOptions());
      await gateway.provision(request({ groups: ['netbox-superusers'], superuser: true }));
      f.netbox.state.clearRequests();
      await gateway.provision(request({ groups: ['netbox-superusers'], superuser: true }));
      expect(permissionRequests()).toEqual([]);
      const eager = provisioner(superuserOptions({ superuserPermissionCheckIntervalMs: 0 }));
      await eager.provision(request({ groups: ['netbox-superusers'], superuser: true }));
      expect(permissionRequests().map((r) => r.method)).toEqual(['GET']);
    });

    it('restores a permission an administrator changed', async () => {
      f = await start();
      const gateway = provisioner(superuserOptions({ superuserPermissionCheckIntervalMs: 0 }));
      await gateway.provision(request({ groups: ['netbox-superusers'], superuser: true }));
      const [permission] = f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME);
      if (!permission) throw new Error('no permission');
      const wanted = { objectTypes: [...permission.objectTypes].sort(), groupIds: [...permission.groupIds] };
      permission.enabled = false;
      permission.actions = ['view'];
      permission.objectTypes.delete('dcim.device');
      permission.groupIds.clear();
      permission.groupIds.add(f.netbox.state.addGroup('someone-else').id);
      permission.userIds.add(f.netbox.state.addUser({ username: 'mallory' }).id);
      permission.constraints = { tenant__slug: 'x' };
      await gateway.provision(request({ groups: ['netbox-superusers'], superuser: true }));
      expect(permission).toMatchObject({ enabled: true, actions: [...SUPERUSER_ACTIONS], constraints: null });
      expect([...permission.objectTypes].sort()).toEqual(wanted.objectTypes);
      expect([...permission.groupIds]).toEqual(wanted.groupIds);
      expect([...permission.userIds]).toEqual([]);
      const warning = f.entries.find((e) => /restored it/.test(e.message));
      expect(warning?.fields).toMatchObject({ fields: ['enabled', 'object_types', 'actions', 'constraints', 'groups', 'users'] });
    });

    it('keeps the oldest of several permissions with its name and deletes the others', async () => {
      f = await start();
      const first = f.netbox.state.addPermission({ name: SUPERUSER_PERMISSION_NAME, objectTypes: ['dcim.site'], actions: ['view'] });
      f.netbox.state.addPermission({ name: SUPERUSER_PERMISSION_NAME, objectTypes: ['dcim.site'], actions: ['view'] });
      await provisioner(superuserOptions()).provision(request({ groups: ['netbox-superusers'], superuser: true }));
      expect(f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME).map((p) => p.id)).toEqual([first.id]);
      expect(first.actions).toEqual([...SUPERUSER_ACTIONS]);
    });

    it('two replicas at their first superuser login end up with one permission', async () => {
      f = await start();
      f.netbox.state.addGroup('netbox-superusers');
      const replicas = [provisioner(superuserOptions()), provisioner(superuserOptions())];
      await Promise.all(
        ['alice', 'bob', 'carol', 'dave'].map((username, i) =>
          replicas[i % 2]?.provision(request({ username, groups: ['netbox-superusers'], superuser: true })),
        ),
      );
      // Both looked, both created; each then saw two, kept the oldest and deleted the other (one DELETE found it gone).
      const writes = permissionRequests().filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
      expect(writes).toEqual(['POST /api/users/permissions/', 'POST /api/users/permissions/', 'DELETE /api/users/permissions/2/', 'DELETE /api/users/permissions/2/']);
      expect(f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME).map((p) => p.id)).toEqual([1]);
    });

    it('lets the login through, logging an error, when NetBox refuses the permission', async () => {
      f = await start();
      const service = f.netbox.state.addUser({
        username: 'limited-service',
        permissions: ['users.view_user', 'users.add_user', 'users.change_user', 'users.view_group', 'users.add_group'],
      });
      const { value } = f.netbox.state.addToken({ userId: service.id, version: 1 });
      const client = new NetboxClient({ baseUrl: new URL(f.netbox.url), token: value, timeoutMs: 2000, logger: f.logger });
      const user = await provisioner(superuserOptions({ client })).provision(request({ groups: ['netbox-superusers'], superuser: true }));
      expect(user.groups).toEqual(['netbox-superusers']);
      expect(f.netbox.state.permissions.size).toBe(0);
      expect(f.entries.find((e) => e.level === 'error')?.message).toMatch(/could not put the superuser ObjectPermission in place/);
    });

    it('does nothing for superusers when the permission is not wanted (remote-user mode)', async () => {
      f = await start();
      await provisioner({ superuserGroups: ['netbox-superusers'], grantSuperuserPermission: false }).provision(
        request({ groups: ['netbox-superusers'], superuser: true }),
      );
      expect(permissionRequests()).toEqual([]);
    });
  });

  describe('concurrency', () => {
    it('10 concurrent provisions of one user make one user and no duplicate groups', async () => {
      f = await start();
      const one = provisioner();
      const results = await Promise.all(Array.from({ length: 10 }, () => one.provision(request())));
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(f.netbox.state.users.size).toBe(2);
      expect([...f.netbox.state.groups.values()].map((g) => g.name).sort()).toEqual(['netbox-readers', 'ops']);
      expect(userWrites().filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('two replicas racing over one user recover from NetBox\'s "already exists" answers', async () => {
      f = await start();
      // Existing groups keep both replicas' first steps in lockstep, so both look the user up before either creates it.
      f.netbox.state.addGroup('ops');
      f.netbox.state.addGroup('netbox-readers');
      const replicas = [provisioner(), provisioner()];
      // Both replicas know the version already, as they would after their start-up check.
      await f.client.version();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => replicas[i % 2]?.provision(request({ username: i % 3 === 0 ? 'ALICE' : 'alice' }))),
      );
      expect(new Set(results.map((r) => r?.id)).size).toBe(1);
      expect(f.netbox.state.users.size).toBe(2);
      expect([...f.netbox.state.groups.values()].map((g) => g.name).sort()).toEqual(['netbox-readers', 'ops']);
      // Both replicas found nothing and both POSTed: the loser's 400 turned into an update.
      const posts = userWrites().filter((r) => r.method === 'POST');
      expect(posts.length).toBeGreaterThanOrEqual(2);
      expect(f.entries.some((e) => /created concurrently/.test(e.message))).toBe(true);
    });

    it('provisions different users concurrently sharing a new group', async () => {
      f = await start();
      await f.client.version();
      const replicas = [provisioner(), provisioner()];
      const results = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((u, i) => replicas[i % 2]?.provision(request({ username: u, groups: ['shared'] }))));
      expect(results.map((r) => r?.groups)).toEqual([['shared'], ['shared'], ['shared'], ['shared']]);
      expect(f.netbox.state.groups.size).toBe(1);
      // All four tried to create the group; three were told it already exists and looked it up.
      expect(f.netbox.state.requests.filter((r) => r.method === 'POST' && r.path === '/api/users/groups/').length).toBeGreaterThan(1);
    });
  });

  describe('NetBox trouble', () => {
    it('reports 503 and hangs as NetboxUnavailable', async () => {
      f = await start({ timeoutMs: 200 });
      f.netbox.state.fail('unavailable');
      await expect(provisioner().provision(request())).rejects.toBeInstanceOf(NetboxUnavailable);
      f.netbox.state.fail('hang');
      await expect(provisioner().provision(request())).rejects.toThrow(/no answer within 200 ms/);
    });
  });
});

describe('RestProvisioner against NetBox 4.0–4.3 (played as 4.3)', () => {
  it('lists object types under /api/extras/ and grants what that release\'s permission form offers', async () => {
    f = await fixture({ version: '4.3' });
    await provisionerFor(f, superuserOptions()).provision(request({ groups: ['netbox-superusers'], superuser: true, staff: true }));
    const [permission] = f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME);
    expect([...(permission?.objectTypes ?? [])].sort()).toEqual(expectedObjectTypes('4.3'));
    expect(f.netbox.state.requestsTo('/api/extras/object-types/').length).toBeGreaterThan(0);
    expect(f.netbox.state.requestsTo('/api/core/').length).toBe(0);
  });

  it('follows the object types list over several pages', async () => {
    f = await fixture({ version: '4.6.8', maxPageSize: 25 });
    await provisionerFor(f, superuserOptions()).provision(request({ groups: ['netbox-superusers'], superuser: true }));
    const [permission] = f.netbox.state.permissionsNamed(SUPERUSER_PERMISSION_NAME);
    expect([...(permission?.objectTypes ?? [])].sort()).toEqual(expectedObjectTypes('4.6.8'));
    expect(f.netbox.state.requestsTo('/api/core/object-types/').length).toBe(Math.ceil(f.netbox.state.objectTypes.length / 25));
  });
});

describe('grantableObjectTypes', () => {
  const type = (name: string, visibility?: boolean) => {
    const [appLabel = '', model = ''] = name.split('.');
    return { name, appLabel, model, public: visibility };
  };

  it('4.4+: public types but core.objecttype, plus the private ones NetBox lets permissions name', () => {
    expect(
      grantableObjectTypes([type('dcim.site', true), type('core.objecttype', true), type('core.managedfile', false), type('sessions.session', false), type('extras.taggeditem', false)]),
    ).toEqual(['core.managedfile', 'dcim.site', 'extras.taggeditem']);
  });

  it('4.0–4.3 (no public flag): everything but Django\'s internal apps, keeping users\' four models', () => {
    expect(
      grantableObjectTypes([type('dcim.site'), type('auth.permission'), type('users.user'), type('users.userconfig'), type('taggit.tag'), type('core.managedfile')]),
    ).toEqual(['core.managedfile', 'dcim.site', 'users.user']);
  });
});
