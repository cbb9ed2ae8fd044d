import { describe, expect, it } from 'vitest';
import { netboxUsername } from '../../src/login/username.js';

const keep = { stripDomain: false, stripRealm: false, caseFold: 'preserve' } as const;
const strip = { stripDomain: true, stripRealm: true, caseFold: 'lower' } as const;

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
});
