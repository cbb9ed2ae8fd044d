import { afterEach, describe, expect, it } from 'vitest';
import { NetboxValidationError } from '../../src/netbox/client.js';
import { RestProvisioner, type RestProvisionerOptions } from '../../src/netbox/provisioning.js';
import { NetboxUnavailable, UserNotAllowed, type ProvisionRequest } from '../../src/netbox/types.js';
import { fixture, passwordFor, rejection, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => {
  await f?.netbox.close();
});

function provisioner(options: Partial<RestProvisionerOptions> = {}): RestProvisioner {
  return new RestProvisioner({ client: f.client, autoCreateUser: true, groupSync: true, passwordFor, logger: f.logger, ...options });
}

const request = (overrides: Partial<ProvisionRequest> = {}): ProvisionRequest => ({
  username: 'alice',
  groups: ['ops', 'netbox-readers'],
  profile: { firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com' },
  ...overrides,
});

function userWrites() {
  return f.netbox.state.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/users/users/'));
}

describe('RestProvisioner: new users', () => {
  it('creates missing groups, then the user in one POST with groups, profile, is_active and the derived password', async () => {
    f = await fixture();
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
    f = await fixture();
    await expect(provisioner({ autoCreateUser: false }).provision(request({ groups: [] }))).rejects.toBeInstanceOf(UserNotAllowed);
    expect(f.netbox.state.findUser('alice')).toBeUndefined();
  });

  it('leaves no user behind when the create fails', async () => {
    f = await fixture();
    f.netbox.state.fail('users-post');
    await expect(provisioner().provision(request())).rejects.toMatchObject({ name: 'NetboxUnavailable', status: 500 });
    expect(f.netbox.state.findUser('alice')).toBeUndefined();
  });

  it('surfaces NetBox validation errors', async () => {
    f = await fixture();
    const error = await rejection(provisioner().provision(request({ username: 'a'.repeat(151), groups: [] })));
    expect(error).toBeInstanceOf(NetboxValidationError);
    expect((error as NetboxValidationError).errors).toEqual({ username: ['Ensure this field has no more than 150 characters.'] });
  });

  it('saves the user without profile attributes NetBox refuses', async () => {
    f = await fixture();
    const user = await provisioner().provision(request({ profile: { firstName: 'Alice', email: 'not-an-address' } }));
    expect(f.netbox.state.user(user.id)).toMatchObject({ firstName: '', email: '' });
    expect(f.entries.some((e) => e.level === 'warn' && /profile/.test(e.message))).toBe(true);
  });
});

describe('RestProvisioner: existing users', () => {
  it('finds a user whose stored name differs in case and returns the stored name', async () => {
    f = await fixture();
    const existing = f.netbox.state.addUser({ username: 'Alice' });
    const user = await provisioner().provision(request({ username: 'alice' }));
    expect(user.id).toBe(existing.id);
    expect(user.username).toBe('Alice');
    expect(f.netbox.state.users.size).toBe(2);
  });

  it('with groupSync sets exactly the wanted groups, in one PATCH, and reactivates the user', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'legacy'], isActive: false });
    const user = await provisioner({ groupSync: true }).provision(request({ groups: ['ops', 'new'] }));
    expect(user.groups).toEqual(['new', 'ops']);
    expect(f.netbox.state.findUser('alice')?.isActive).toBe(true);
    expect(userWrites().map((r) => r.method)).toEqual(['PATCH']);
  });

  it('without groupSync only adds groups', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'alice', groups: ['ops', 'legacy'] });
    const user = await provisioner({ groupSync: false }).provision(request({ groups: ['new'] }));
    expect(user.groups).toEqual(['legacy', 'new', 'ops']);
  });

  it('never blanks profile fields the AAA server did not send, and never touches the password', async () => {
    f = await fixture();
    const existing = f.netbox.state.addUser({ username: 'alice', password: 'Local-password-1', firstName: 'Alice', lastName: 'L', email: 'a@example.com' });
    await provisioner().provision(request({ groups: ['ops'], profile: { lastName: 'Liddell' } }));
    expect(f.netbox.state.user(existing.id)).toMatchObject({ firstName: 'Alice', lastName: 'Liddell', email: 'a@example.com' });
    expect(f.netbox.state.checkPassword(existing, 'Local-password-1')).toBe(true);
    expect(existing.passwordGeneration).toBe(1);
  });

  it('writes nothing when NetBox already matches', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'alice', groups: ['ops'], firstName: 'Alice', email: 'alice@example.com' });
    const user = await provisioner().provision(request({ groups: ['ops'], profile: { firstName: 'Alice', email: 'alice@EXAMPLE.com' } }));
    expect(user.groups).toEqual(['ops']);
    expect(userWrites()).toEqual([]);
  });

  it('refuses to pick between users that differ only in case', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'Alice' });
    f.netbox.state.insertUser('ALICE');
    await expect(provisioner().provision(request({ username: 'alice' }))).rejects.toThrow(/2 users named alice ignoring case/);
    const exact = await provisioner().provision(request({ username: 'ALICE', groups: [] }));
    expect(exact.username).toBe('ALICE');
  });
});

describe('RestProvisioner: concurrency', () => {
  it('10 concurrent provisions of one user make one user and no duplicate groups', async () => {
    f = await fixture();
    const one = provisioner();
    const results = await Promise.all(Array.from({ length: 10 }, () => one.provision(request())));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(f.netbox.state.users.size).toBe(2);
    expect([...f.netbox.state.groups.values()].map((g) => g.name).sort()).toEqual(['netbox-readers', 'ops']);
    expect(userWrites().filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('two replicas racing over one user recover from NetBox\'s "already exists" answers', async () => {
    f = await fixture();
    // Existing groups keep both replicas' first steps in lockstep, so both look the user up before either creates it.
    f.netbox.state.addGroup('ops');
    f.netbox.state.addGroup('netbox-readers');
    const replicas = [provisioner(), provisioner()];
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
    f = await fixture();
    const replicas = [provisioner(), provisioner()];
    const results = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((u, i) => replicas[i % 2]?.provision(request({ username: u, groups: ['shared'] }))));
    expect(results.map((r) => r?.groups)).toEqual([['shared'], ['shared'], ['shared'], ['shared']]);
    expect(f.netbox.state.groups.size).toBe(1);
    // All four tried to create the group; three were told it already exists and looked it up.
    expect(f.netbox.state.requests.filter((r) => r.method === 'POST' && r.path === '/api/users/groups/').length).toBeGreaterThan(1);
  });
});

describe('RestProvisioner: NetBox trouble', () => {
  it('reports 503 and hangs as NetboxUnavailable', async () => {
    f = await fixture({ timeoutMs: 200 });
    f.netbox.state.fail('unavailable');
    await expect(provisioner().provision(request())).rejects.toBeInstanceOf(NetboxUnavailable);
    f.netbox.state.fail('hang');
    await expect(provisioner().provision(request())).rejects.toThrow(/no answer within 200 ms/);
  });
});
