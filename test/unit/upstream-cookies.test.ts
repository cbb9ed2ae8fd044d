import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { upstreamCookieHeader } from '../../src/http/upstream-cookies.js';
import { startDjangoCookieParser, type DjangoCookieParser, type DjangoCookies } from '../support/django-cookies.js';
import { assertAsyncProperty } from '../support/property.js';

const NETBOX = new Set(['sessionid', 'csrftoken', 'nbgw_session']);

describe('upstreamCookieHeader', () => {
  it.each([
    ['nothing', undefined, undefined],
    ['an empty header', '', undefined],
    ['only dropped cookies', 'sessionid=a; csrftoken=b; nbgw_session=c', undefined],
    ['other cookies, in order', 'theme=dark; sessionid=a; lang=de', 'theme=dark; lang=de'],
    ['\\x85 (NEL) before the name', '\x85sessionid=X; theme=dark', 'theme=dark'],
    ['\\xa0 (NBSP) around the name', '\xa0csrftoken\xa0=X; theme=dark', 'theme=dark'],
    ['\\x1c before the name', '\x1csessionid=X', undefined],
    ['\\x1d before the name', '\x1dsessionid=X', undefined],
    ['\\x1e after the name', 'sessionid\x1e=X', undefined],
    ['\\x1f after the name', 'sessionid\x1f=X', undefined],
    ['\\v and \\f around the name', '\vsessionid\f=X', undefined],
    ['tabs, CR and LF around the name', '\t\r\nsessionid \t=X', undefined],
    ['Python whitespace around a kept value', 'theme=\x85\x1c dark\xa0\t', 'theme=dark'],
    ['a quoted value, kept as sent (Django unquotes it itself)', 'theme="dark mode"; sessionid="X"', 'theme="dark mode"'],
    ['`=` inside values', 'next=/a?b=c==; sessionid=X=Y', 'next=/a?b=c=='],
    ['duplicates of a kept name, all kept in order', 'theme=1; theme=2', 'theme=1; theme=2'],
    ['duplicates of a dropped name', 'sessionid=a; theme=1; sessionid=b', 'theme=1'],
    ['empty chunks', ';; theme=1;;\t; ;', 'theme=1'],
    ['a chunk without `=` (a value with an empty name)', 'sessionid; theme=1', 'theme=1'],
    ['an empty name', '=x; \x85=y; theme=1', 'theme=1'],
    ['names in another case (Django compares exactly)', 'SessionID=x; CSRFTOKEN=y', 'SessionID=x; CSRFTOKEN=y'],
    ['characters Python does not strip', '\x00sessionid=x; \x84csrftoken=y', '\x00sessionid=x; \x84csrftoken=y'],
    ['a space inside the name', 'session id=x', 'session id=x'],
  ])('%s', (_case, header, expected) => {
    expect(upstreamCookieHeader(header, NETBOX)).toBe(expected);
  });
});

// Python's whitespace within Latin-1, then what cookie syntax and Django's _unquote react to, then a few others.
const WHITESPACE = ['\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0'];
const SYNTAX = [';', '=', '"', '\\', '0', '1', '7'];
const OTHER = ['a', 'Z', ',', '\x00', '\x84', '\x86', '\xa1', '\xff'];
const NAMES = ['sessionid', 'csrftoken', 'nbgw_session', 'theme'];

const padding = fc.string({ unit: fc.constantFrom(...WHITESPACE), maxLength: 3 });
const junk = fc.string({ unit: fc.constantFrom(...WHITESPACE, ...SYNTAX, ...OTHER), maxLength: 6 });
const name = fc.oneof(fc.constantFrom(...NAMES, 'SESSIONID'), junk, fc.tuple(junk, fc.constantFrom(...NAMES), junk).map((parts) => parts.join('')));
const value = fc.oneof(junk, junk.map((text) => `"${text}"`));
const pair = fc.tuple(padding, name, padding, fc.constantFrom('=', '', '=='), padding, value, padding).map((parts) => parts.join(''));
const header = fc.array(fc.oneof({ arbitrary: pair, weight: 4 }, { arbitrary: junk, weight: 1 }), { maxLength: 8 }).map((chunks) => chunks.join(';'));

const sorted = (cookies: DjangoCookies): Array<[string, string]> => [...cookies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('upstreamCookieHeader against Django', () => {
  // Started by the first test that needs it, not in a hook: a missing python3 or Django then fails these tests
  // themselves, where a failing beforeAll would only report them as skipped.
  let started: Promise<DjangoCookieParser> | undefined;
  const djangoParser = (): Promise<DjangoCookieParser> => (started ??= startDjangoCookieParser());
  afterAll(async () => {
    await started?.then((parser) => parser.close(), () => undefined);
  });

  it("is checked against Django's own parse_cookie, which strips \\x85 from a name", async () => {
    const django = await djangoParser();
    expect(django.djangoVersion).toMatch(/^\d+\.\d+/);
    const [parsed] = await django.parse(['\x85sessionid=X']);
    expect(parsed).toEqual(new Map([['sessionid', 'X']]));
  });

  it('leaves Django exactly the cookies it was given, minus the dropped and nameless ones', async () => {
    const django = await djangoParser();
    await assertAsyncProperty(
      fc.asyncProperty(header, fc.subarray(NAMES), async (clientCookie, drop) => {
        const rebuilt = upstreamCookieHeader(clientCookie, new Set(drop));
        const [ofInput, ofRebuilt] = await django.parse([clientCookie, rebuilt ?? '']);
        const expected = new Map([...ofInput!].filter(([cookie]) => cookie !== '' && !drop.includes(cookie)));
        for (const dropped of drop) expect(ofRebuilt!.has(dropped)).toBe(false);
        expect(sorted(ofRebuilt!)).toEqual(sorted(expected));
        expect(rebuilt === undefined).toBe(expected.size === 0);
      }),
      { numRuns: 1000 },
    );
  });
});
