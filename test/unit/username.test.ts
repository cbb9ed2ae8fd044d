import { describe, expect, it } from 'vitest';
import { netboxUsername } from '../../src/login/username.js';

const keep = { stripDomain: false, stripRealm: false, caseFold: 'preserve', allowedDomains: [], allowedRealms: [] } as const;
const strip = { stripDomain: true, stripRealm: true, caseFold: 'lower', allowedDomains: [], allowedRealms: [] } as const;

describe('netboxUsername', () => {
  it.each([
    ['alice', keep, 'alice'],
    ['Alice', keep, 'Alice'],
    ['alice@example.net', keep, 'alice@example.net'],
    ['EXAMPLE\\Alice', strip, 'alice'],
    ['Alice@EXAMPLE.NET', strip, 'alice'],
    ['EXAMPLE\\alice@corp', strip, 'alice'],
    ['jean.dupont+ops', strip, 'jean.dupont+ops'],
    ['Zoë', strip, 'zoë'],
    ['@alice', strip, '@alice'],
  ])('%s → %s', (typed, rules, expected) => {
    expect(netboxUsername(typed, rules)).toEqual({ ok: true, name: expected });
  });

  it('refuses what NetBox cannot store, with a hint for domain names', () => {
    expect(netboxUsername('EXAMPLE\\alice', keep)).toEqual({
      ok: false,
      problem: 'NetBox user names may contain letters, digits and . @ + - _ only (set USERNAME_STRIP_DOMAIN=true to sign in as DOMAIN\\user)',
    });
    expect(netboxUsername('alice smith', strip)).toMatchObject({ ok: false });
    expect(netboxUsername('a'.repeat(151), strip)).toEqual({ ok: false, problem: 'NetBox user names are at most 150 characters' });
    expect(netboxUsername('EXAMPLE\\', strip)).toMatchObject({ ok: false, problem: expect.stringContaining('empty') });
  });

  it('strips only the domains and realms it is told to trust', () => {
    const trusted = { ...strip, allowedDomains: ['example'], allowedRealms: ['example.net'] };
    expect(netboxUsername('EXAMPLE\\alice', trusted)).toEqual({ ok: true, name: 'alice' });
    expect(netboxUsername('alice@Example.NET', trusted)).toEqual({ ok: true, name: 'alice' });
    expect(netboxUsername('EVIL\\admin', trusted)).toEqual({
      ok: false,
      problem: 'the domain EVIL is not one this gateway signs in (USERNAME_ALLOWED_DOMAINS)',
    });
    expect(netboxUsername('admin@evil.example', trusted)).toEqual({
      ok: false,
      problem: 'the realm evil.example is not one this gateway signs in (USERNAME_ALLOWED_REALMS)',
    });
    expect(netboxUsername('alice', trusted)).toEqual({ ok: true, name: 'alice' });
  });
});
