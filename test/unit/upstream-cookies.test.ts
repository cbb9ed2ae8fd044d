import { describe, expect, it } from 'vitest';
import { upstreamCookieHeader } from '../../src/http/upstream-cookies.js';

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
