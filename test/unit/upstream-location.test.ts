import { describe, expect, it } from 'vitest';
import { localLocation } from '../../src/http/upstream-location.js';

const NETBOX = 'http://netbox:8080';
const PUBLIC = 'https://gateway.example';
const ORIGINS = [NETBOX, PUBLIC];
/** Where browsers on either scheme would resolve what the gateway sends. */
const BROWSER_BASES = ['https://gateway.example/dcim/devices/', 'http://gateway.example/dcim/devices/'];
const CLEAN_LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/** Ways to another host or a script that NetBox might echo from a return_url, each in many disguises. */
const OFF_SITE = [
  '//evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  '///evil.example',
  '////evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '//evil.example@netbox:8080',
  '//netbox:8080@evil.example',
  '//evil.example:443',
  '//evil%2eexample',
  '//evil\u3002example',
  '//[::1]:8080',
  '//127.0.0.1:8080',
  'https://evil.example',
  'http://evil.example',
  'HTTPS://evil.example',
  'https:evil.example',
  'https:/evil.example',
  'https:\\\\evil.example',
  'http://netbox:8080.evil.example',
  'http://netbox:8081',
  'https://netbox:8080',
  'http://gateway.example',
  'https://gateway.example.evil.example',
  'https://gateway.example:8443',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'java\tscript:alert(1)',
  'javascript://%0aalert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'blob:https://evil.example/x',
  'ftp://evil.example/',
  'ws://evil.example/',
];
const PREFIXES = ['', ' ', '\t', '\x0b', '\x0c', '\x1f', ' \t ', '\x00', '\r', '\n'];
const SUFFIXES = ['', '/x?next=/', '#/dcim/'];

const corpus = PREFIXES.flatMap((prefix) => OFF_SITE.flatMap((body) => SUFFIXES.map((suffix) => `${prefix}${body}${suffix}`)));

describe('localLocation', () => {
  it(`keeps every one of ${corpus.length} hostile redirect targets on the site`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    let refused = 0;
    for (const value of corpus) {
      const local = localLocation(value, '/dcim/devices/', ORIGINS);
      if (local === undefined) {
        refused += 1;
        continue;
      }
      expect(local, JSON.stringify(value)).toMatch(CLEAN_LOCAL_PATH);
      for (const base of BROWSER_BASES) expect(new URL(local, base).origin, JSON.stringify(value)).toBe(new URL(base).origin);
    }
    console.log(`Location corpus: ${corpus.length} hostile values, ${refused} refused, ${corpus.length - refused} turned into local paths`);
    // Nearly all of them name another host or a script; none of those may come out as a path at all.
    expect(refused).toBeGreaterThan(corpus.length * 0.8);
  });

  it.each([
    ['//evil.example/x'],
    ['/\\evil.example'],
    [' //evil.example'],
    ['\t//evil.example'],
    ['https://evil.example/'],
    ['javascript:alert(1)'],
    ['http://netbox:8081/'],
  ])('refuses %j', (value) => {
    expect(localLocation(value, '/dcim/', ORIGINS)).toBeUndefined();
  });

  it.each([
    ['http://netbox:8080/dcim/sites/', '/dcim/sites/'],
    ['https://gateway.example/ipam/?q=1#top', '/ipam/?q=1#top'],
    ['/dcim/sites/', '/dcim/sites/'],
    ['../sites/', '/dcim/sites/'],
    ['?page=2', '/dcim/devices/?page=2'],
    ['/.//evil.example/x', '/evil.example/x'],
    ['/login/?next=/dcim/', '/login/?next=/dcim/'],
    ['/dcim/d\u00e9vices/', '/dcim/d%C3%A9vices/'],
    ['/a b"<>', '/a%20b%22%3C%3E'],
  ])('makes %j the local path %s', (value, local) => {
    expect(localLocation(value, '/dcim/devices/', ORIGINS)).toBe(local);
  });
});
