import { afterEach, describe, expect, it } from 'vitest';
import { TokenMinter } from '../../src/netbox/tokens.js';
import { fixture, VERSIONS, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => {
  await f.netbox.close();
});

const inAnHour = () => new Date(Date.now() + 3_600_000);

/** The status NetBox gives a GET with `authorization`, and whose token it was, as the double keeps it. */
async function whoAmI(authorization: string, tokenId: number): Promise<{ status: number; username: string | undefined }> {
  const response = await fetch(`${f.netbox.url}/api/users/users/?limit=1`, { headers: { Authorization: authorization, Accept: 'application/json' } });
  const token = f.netbox.state.tokens.get(tokenId);
  return { status: response.status, username: token?.lastUsed ? f.netbox.state.user(token.userId)?.username : undefined };
}

describe.each(VERSIONS)('minting a token for a user on NetBox %s', (version) => {
  it('mints one the user can use, read-only when asked, and revokes it', async () => {
    f = await fixture({ version });
    const alice = f.netbox.state.addUser({ username: 'alice', permissions: ['users.view_user', 'users.add_user'] });
    const minter = new TokenMinter(f.client, f.logger);
    const token = await minter.mint({ userId: alice.id, expires: inAnHour(), writeEnabled: false, allowedIps: [], description: 'netbox-aaa-gateway: alice' });
    expect(token.version).toBe(version === '4.4' || version === '4.3' ? 1 : 2);
    expect(token.authorization).toMatch(token.version === 2 ? /^Bearer nbt_[A-Za-z0-9]+\.[A-Za-z0-9]+$/ : /^Token [A-Za-z0-9]{40}$/);
    expect(await whoAmI(token.authorization, token.id)).toMatchObject({ status: 200, username: 'alice' });
    const write = await fetch(`${f.netbox.url}/api/users/users/`, {
      method: 'POST',
      headers: { Authorization: token.authorization, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username: 'mallory', password: 'x'.repeat(20) }),
    });
    expect(write.status).toBe(403);
    await minter.revoke(token.id);
    await minter.revoke(token.id);
    expect((await whoAmI(token.authorization, token.id)).status).toBe(403);
    expect(f.entries.map((entry) => JSON.stringify(entry)).join('\n')).not.toContain(token.value);
  });
});

describe('minting on a NetBox without API_TOKEN_PEPPERS', () => {
  it('falls back to v1 after the 400 NetBox gives for v2, and stays there', async () => {
    f = await fixture({ version: '4.6.8' });
    f.netbox.state.peppersConfigured = false;
    const alice = f.netbox.state.addUser({ username: 'alice', permissions: ['users.view_user'] });
    const minter = new TokenMinter(f.client, f.logger);
    const first = await minter.mint({ userId: alice.id, expires: inAnHour(), writeEnabled: true, allowedIps: [], description: 'x' });
    const second = await minter.mint({ userId: alice.id, expires: inAnHour(), writeEnabled: true, allowedIps: [], description: 'x' });
    expect([first.version, second.version]).toEqual([1, 1]);
    expect(await whoAmI(first.authorization, first.id)).toMatchObject({ status: 200, username: 'alice' });
    const posts = f.netbox.state.requestsTo('/api/users/tokens/').filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(f.entries.filter((entry) => entry.message.includes('API_TOKEN_PEPPERS'))).toHaveLength(1);
  });

  it('says so when the service account may not mint for others', async () => {
    f = await fixture({ version: '4.6.8' });
    const alice = f.netbox.state.addUser({ username: 'alice' });
    const service = f.netbox.state.addUser({ username: 'limited', permissions: ['users.add_token'] });
    const { value } = f.netbox.state.addToken({ userId: service.id, version: 1 });
    const { NetboxClient } = await import('../../src/netbox/client.js');
    const limited = new NetboxClient({ baseUrl: new URL(f.netbox.url), token: value, timeoutMs: 2000, logger: f.logger });
    await expect(new TokenMinter(limited, f.logger).mint({ userId: alice.id, expires: inAnHour(), writeEnabled: false, allowedIps: [], description: 'x' })).rejects.toMatchObject({
      status: 403,
    });
  });
});
