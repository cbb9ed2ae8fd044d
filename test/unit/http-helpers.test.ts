import { describe, expect, it } from 'vitest';
import { stripIdentityHeaders } from '../../src/http/request-hygiene.js';
import { applySetCookies } from '../../src/netbox/cookies.js';

describe('stripIdentityHeaders', () => {
  it('removes every spelling of the remote-user family and nothing else', () => {
    const headers = {
      'remote-user': 'admin',
      remote_user: 'admin',
      'remote-user-group': 'superusers',
      'x-sso-user': 'admin',
      'x_sso_groups': 'superusers',
      accept: 'text/html',
    };
    stripIdentityHeaders(headers, ['X-SSO-User', 'X-SSO-Groups']);
    expect(headers).toEqual({ accept: 'text/html' });
  });
});

describe('applySetCookies', () => {
  it('adds, replaces and removes cookies as a browser would', () => {
    const jar = applySetCookies({ sessionid: 'old', csrftoken: 'c1', theme: 'dark' }, [
      'sessionid=new; HttpOnly; Path=/; SameSite=Lax',
      'csrftoken=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
      'theme=; Path=/',
      'fresh=1; Max-Age=3600',
    ]);
    expect(jar).toEqual({ sessionid: 'new', fresh: '1' });
  });
});
