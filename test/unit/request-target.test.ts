import { describe, expect, it } from 'vitest';
import { canonicalTarget } from '../../src/http/request-target.js';

describe('canonicalTarget', () => {
  it.each([
    ['/', '/'],
    ['/dcim/devices/?q=a/../b&site=%2e%2e', '/dcim/devices/?q=a/../b&site=%2e%2e'],
    ['//dcim///devices/', '/dcim/devices/'],
    ['/static/netbox%2ecss', '/static/netbox%2ecss'],
    ['/static/...', '/static/...'],
    ['/static/.well-known/x', '/static/.well-known/x'],
    ['/api/dcim/devices/?name=a%2Fb', '/api/dcim/devices/?name=a%2Fb'],
    ['/media/image%20name.png', '/media/image%20name.png'],
  ])('keeps %s as %s', (target, canonical) => {
    expect(canonicalTarget(target)).toEqual({ ok: true, path: canonical.split('?')[0], url: canonical });
  });

  it.each([
    ['/static/../login/', 'a dot segment'],
    ['/static/./x.css', 'a dot segment'],
    ['/static/..', 'a dot segment'],
    ['/static/%2e%2e/api/users/users/', 'a dot segment'],
    ['/static/%2E%2e/login/', 'a dot segment'],
    ['/static/.%2e/login/', 'a dot segment'],
    ['/static/%2e./login/', 'a dot segment'],
    ['/static/%252e%252e/login/', 'a dot segment'],
    ['/static/%25252e%25252e/login/', 'a dot segment'],
    ['/static/%2e/x', 'a dot segment'],
    ['/static/..\\api\\users\\', 'a backslash'],
    ['/static\\..\\login/', 'a backslash'],
    ['/static/%5c..%5clogin/', 'an encoded slash, backslash or control character'],
    ['/static/%5C', 'an encoded slash, backslash or control character'],
    ['/static/..%2flogin/', 'an encoded slash, backslash or control character'],
    ['/static/a%2Fb', 'an encoded slash, backslash or control character'],
    ['/static/a%252fb', 'an encoded slash, backslash or control character'],
    ['/static/x%00.css', 'an encoded slash, backslash or control character'],
    ['/static/x%0d%0aSet-Cookie:%20a=b', 'an encoded slash, backslash or control character'],
    ['/static/%zz', 'a malformed percent escape'],
    ['/static/%2', 'a malformed percent escape'],
    ['/static/x.css#frag', 'a fragment'],
    ['/static/x y', 'characters outside printable ASCII'],
    ['/static/\u00e9', 'characters outside printable ASCII'],
    ['/static/\t', 'characters outside printable ASCII'],
    ['http://netbox/login/', 'not an origin-form path'],
    ['*', 'not an origin-form path'],
    ['netbox:8080', 'not an origin-form path'],
    ['', 'not an origin-form path'],
  ])('refuses %s: %s', (target, problem) => {
    expect(canonicalTarget(target)).toEqual({ ok: false, problem });
  });
});
