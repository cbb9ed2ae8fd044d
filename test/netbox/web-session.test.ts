import { afterEach, describe, expect, it } from 'vitest';
import type { RestProvisionerOptions } from '../../src/netbox/provisioning.js';
import { NetboxUnavailable, type NetboxCookieJar, type NetboxUser } from '../../src/netbox/types.js';
import {
  PasswordWebSession,
  RemoteUserHeaderError,
  remoteUserGroupHeaderValue,
  RemoteUserWebSession,
  type RemoteUserWebSessionOptions,
} from '../../src/netbox/web-session.js';
import { CookieBrowser } from '../netbox-double/browser.js';
import type { RemoteAuthOptions } from '../netbox-double/index.js';
import { fixture, passwordFor, provisionerFor, rejection, request, VERSIONS, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => {
  await f?.netbox.close();
});

function passwordSessions(timeoutMs = 2000): PasswordWebSession {
  return new PasswordWebSession({ baseUrl: new URL(f.netbox.url), client: f.client, passwordFor, timeoutMs, logger: f.logger });
}

function remoteSessions(options: Partial<RemoteUserWebSessionOptions> = {}): RemoteUserWebSession {
  return new RemoteUserWebSession({ baseUrl: new URL(f.netbox.url), header: 'Remote-User', timeoutMs: 2000, logger: f.logger, ...options });
}

async function provision(username: string, groups: string[] = ['ops'], options: Partial<RestProvisionerOptions> = {}): Promise<NetboxUser> {
  return provisionerFor(f, options).provision(request({ username, groups, profile: {} }));
}

/** A browser holding the jar's cookies, as the gateway's proxy would present them. */
function browserWith(jar: NetboxCookieJar): CookieBrowser {
  const browser = new CookieBrowser(f.netbox.url);
  for (const [name, value] of Object.entries(jar)) browser.cookies.set(name, value);
  return browser;
}

describe('PasswordWebSession', () => {
  it('signs in through the login form and returns a working sessionid and csrftoken', async () => {
    f = await fixture();
    const user = await provision('alice');
    const jar = await passwordSessions().open(user);
    expect(Object.keys(jar).sort()).toEqual(['csrftoken', 'sessionid']);
    const page = await browserWith(jar).get('/dcim/devices/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<span id="netbox-user">alice</span>');
    expect(page.body).toContain('<li>ops</li>');
    const post = f.netbox.state.requests.find((r) => r.method === 'POST' && r.path === '/login/');
    expect(post?.headers['referer']).toBe(`${f.netbox.url}/login/`);
    expect(post?.headers['origin']).toBeUndefined();
  });

  it('uses the username as NetBox stores it', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'Alice' });
    const user = await provision('alice');
    expect(user.username).toBe('Alice');
    const jar = await passwordSessions().open(user);
    expect((await browserWith(jar).get('/')).body).toContain('<span id="netbox-user">Alice</span>');
  });

  it('a second login does not end the first session (the password is not touched when it works)', async () => {
    f = await fixture();
    const user = await provision('alice');
    const sessions = passwordSessions();
    const first = await sessions.open(user);
    const second = await sessions.open(user);
    expect(second['sessionid']).not.toBe(first['sessionid']);
    expect((await browserWith(first).get('/')).status).toBe(200);
    expect((await browserWith(second).get('/')).status).toBe(200);
    expect(f.netbox.state.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('repairs a pre-existing local password once, then logs in without touching it again', async () => {
    f = await fixture();
    const existing = f.netbox.state.addUser({ username: 'bob', password: 'Local-password-1' });
    const other = f.netbox.state.openSession(existing.id, 'test');
    const user = await provision('bob');
    f.netbox.state.clearRequests();
    const sessions = passwordSessions();
    const jar = await sessions.open(user);
    expect((await browserWith(jar).get('/')).status).toBe(200);
    expect(f.netbox.state.checkPassword(existing, passwordFor('bob'))).toBe(true);
    // Repairing the password ended the sessions bob had before: unavoidable, and it happens once.
    expect(f.netbox.state.sessionUser(other.key)).toBeUndefined();
    expect(f.entries.filter((e) => /resetting it/.test(e.message))).toHaveLength(1);
    await sessions.open(user);
    expect(f.netbox.state.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect((await browserWith(jar).get('/')).status).toBe(200);
  });

  it('repairs once when several logins of the same user need it at the same time, and every session survives', async () => {
    f = await fixture();
    f.netbox.state.addUser({ username: 'bob', password: 'Local-password-1' });
    const user = await provision('bob');
    f.netbox.state.clearRequests();
    const sessions = passwordSessions();
    const jars = await Promise.all(Array.from({ length: 4 }, () => sessions.open(user)));
    expect(f.netbox.state.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(new Set(jars.map((jar) => jar['sessionid'])).size).toBe(4);
    for (const jar of jars) expect((await browserWith(jar).get('/')).status).toBe(200);
  });

  it('gives up with a clear NetboxUnavailable when even the repaired password is refused', async () => {
    f = await fixture();
    const user = await provision('carol');
    const stored = f.netbox.state.user(user.id);
    if (stored) stored.isActive = false;
    await expect(passwordSessions().open(user)).rejects.toThrow(/refused carol even after the password was reset/);
  });

  it('reports NetBox trouble as NetboxUnavailable', async () => {
    f = await fixture();
    const user = await provision('alice');
    f.netbox.state.fail('unavailable');
    await expect(passwordSessions().open(user)).rejects.toMatchObject({ name: 'NetboxUnavailable', status: 503 });
    f.netbox.state.fail('hang');
    await expect(passwordSessions(200).open(user)).rejects.toThrow(/no answer within 200 ms/);
  });

  it('close() ends the NetBox session, and swallows errors', async () => {
    f = await fixture();
    const user = await provision('alice');
    const sessions = passwordSessions(200);
    const jar = await sessions.open(user);
    await sessions.close(jar);
    expect(f.netbox.state.sessionsOf(user.id)).toEqual([]);
    expect((await browserWith(jar).get('/')).status).toBe(302);
    f.netbox.state.fail('hang');
    await expect(sessions.close(jar)).resolves.toBeUndefined();
    expect(f.entries.some((e) => e.level === 'warn' && /logout failed/.test(e.message))).toBe(true);
  });
});

describe('RemoteUserWebSession', () => {
  it('gets a session from the Remote-User header that keeps working without it', async () => {
    f = await fixture({ remoteAuth: { enabled: true, header: 'Remote-User', autoCreateUser: false } });
    const user = await provision('alice', ['ops', 'admins']);
    const jar = await remoteSessions().open(user);
    expect(Object.keys(jar).sort()).toEqual(['csrftoken', 'sessionid']);
    const page = await browserWith(jar).get('/dcim/');
    expect(page.body).toContain('<span id="netbox-user">alice</span>');
    expect(page.body).toContain('<ul id="netbox-groups"><li>admins</li><li>ops</li></ul>');
    expect(f.netbox.state.requestsTo('/login/')[0]?.path).toBe('/login/?next=%2F');
    expect(f.netbox.state.sessionsOf(user.id)).toMatchObject([{ backend: 'remote-user' }]);
  });

  it('says what to check in NetBox when remote auth is off', async () => {
    f = await fixture();
    const user = await provision('alice');
    const error = await rejection(remoteSessions().open(user));
    expect(error).toBeInstanceOf(NetboxUnavailable);
    expect((error as Error).message).toContain("REMOTE_AUTH_HEADER = 'HTTP_REMOTE_USER'");
  });

  it('sends the groups in the group header (joined with |) alongside the user header', async () => {
    f = await fixture({ remoteAuth: { enabled: true } });
    const user = await provision('alice', ['ops', 'netbox-admins']);
    await remoteSessions().open(user);
    const sent = f.netbox.state.requestsTo('/login/')[0]?.headers;
    expect(sent?.['remote-user']).toBe('alice');
    expect(sent?.['remote-user-group']).toBe('netbox-admins|ops');
    await remoteSessions({ groupHeader: 'X-Groups', groupSeparator: ',' }).open(user);
    expect(f.netbox.state.requestsTo('/login/')[1]?.headers['x-groups']).toBe('netbox-admins,ops');
  });

  it('refuses names the headers cannot carry unchanged, before asking NetBox', async () => {
    f = await fixture({ remoteAuth: { enabled: true } });
    const sessions = remoteSessions();
    const split = await rejection(sessions.open({ id: 1, username: 'alice', groups: ['ops', 'a|netbox-superusers'] }));
    expect(split).toBeInstanceOf(RemoteUserHeaderError);
    expect(split).toBeInstanceOf(NetboxUnavailable);
    expect((split as Error).message).toMatch(/contains the separator "\|"/);
    await expect(sessions.open({ id: 1, username: 'Jürgen', groups: ['Админы'] })).rejects.toThrow(/outside Latin-1/);
    await expect(sessions.open({ id: 1, username: 'ЮЛИЯ', groups: [] })).rejects.toThrow(/Remote-User header: it contains a character outside Latin-1/);
    await expect(sessions.open({ id: 1, username: 'alice', groups: ['a\nb'] })).rejects.toThrow(/control character/);
    expect(f.netbox.state.requestsTo('/login/')).toEqual([]);
    expect(remoteUserGroupHeaderValue('Remote-User-Group', ['Réseau', 'ops'], '|')).toBe('Réseau|ops');
  });

  it('close() logs out without the header, so NetBox does not log the user straight back in', async () => {
    f = await fixture({ remoteAuth: { enabled: true, header: 'Remote-User', autoCreateUser: false } });
    const user = await provision('alice');
    const sessions = remoteSessions();
    const jar = await sessions.open(user);
    await sessions.close(jar);
    expect(f.netbox.state.sessionsOf(user.id)).toEqual([]);
    expect(f.netbox.state.requestsTo('/logout/')[0]?.headers['remote-user']).toBeUndefined();
  });
});

describe.each(VERSIONS)('RemoteUserWebSession with NetBox %s group sync (REMOTE_AUTH_GROUP_SYNC_ENABLED)', (version) => {
  const netboxConfig: Partial<RemoteAuthOptions> = {
    groupSyncEnabled: true,
    superuserGroups: ['netbox-superusers'],
    staffGroups: ['netbox-staff'],
  };
  const start = () => fixture({ version, remoteAuth: { enabled: true, ...netboxConfig } });
  const groupsOf = (userId: number): string[] => {
    const user = f.netbox.state.user(userId);
    if (!user) throw new Error(`no user ${userId}`);
    return f.netbox.state.groupNamesOf(user);
  };

  it('makes a member of a superuser group a real superuser, and takes it away when the group goes', async () => {
    f = await start();
    const gateway = provisionerFor(f, { syncMode: 'replace' });
    const admin = await gateway.provision(request({ groups: ['ops', 'netbox-superusers'], superuser: true }));
    const jar = await remoteSessions().open(admin);
    const stored = f.netbox.state.user(admin.id);
    expect(stored?.isSuperuser).toBe(true);
    expect((await browserWith(jar).get('/')).body).toContain('<li>netbox-superusers</li>');
    const demoted = await gateway.provision(request({ groups: ['ops'] }));
    await remoteSessions().open(demoted);
    expect(stored?.isSuperuser).toBe(false);
    expect(groupsOf(admin.id)).toEqual(['ops']);
  });

  it(version === '4.4' ? 'sets is_staff from the staff groups (4.4 and older)' : 'has no staff groups to honour (4.5+)', async () => {
    f = await start();
    const user = await provisionerFor(f).provision(request({ groups: ['netbox-staff'], staff: true }));
    await remoteSessions().open(user);
    expect(f.netbox.state.user(user.id)?.isStaff).toBe(version === '4.4');
  });

  it('hand-assigned groups kept by managed sync survive NetBox\'s own replace-only sync', async () => {
    f = await start();
    f.netbox.state.addUser({ username: 'alice', groups: ['site-paris', 'netbox-admins'] });
    const user = await provisionerFor(f, { syncMode: 'managed' }).provision(request({ groups: ['ops'] }));
    await remoteSessions().open(user);
    expect(groupsOf(user.id)).toEqual(['ops', 'site-paris']);
  });
});
