import { describe, expect, it } from 'vitest';
import { localRedirectTarget } from '../../src/http/local-redirect.js';

describe('localRedirectTarget', () => {
  it.each([
    ['/dcim/devices/?site=x', '/dcim/devices/?site=x'],
    ['/', '/'],
    ['/ipam/prefixes/#top', '/ipam/prefixes/#top'],
    ['/a/../b/', '/b/'],
  ])('keeps the local path %s', (input, expected) => {
    expect(localRedirectTarget(input)).toBe(expected);
  });

  it.each([
    'https://evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    '\\\\evil.example',
    '/%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%252F%252Fevil.example',
    'javascript:alert(1)',
    'dcim/devices/',
    '/\tevil',
    '/%0d%0aSet-Cookie:x=1',
    '/-/login',
    '/-/logout',
    '',
    '/' + 'a'.repeat(3000),
    '/%E0%A4%A',
    '/.//evil.example',
    '/a/..//evil.example',
    '/%2e%2e//evil.example',
    '/./\\evil.example',
  ])('refuses %s', (input) => {
    expect(localRedirectTarget(input)).toBe('/');
  });

  it('refuses non-strings such as repeated query parameters', () => {
    expect(localRedirectTarget(['/a', '//b'])).toBe('/');
    expect(localRedirectTarget(undefined)).toBe('/');
  });
});
