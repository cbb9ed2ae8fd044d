import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieValue, newSessionId, signedCookieValue, verifiedSessionId } from '../../src/session/session-id.js';
import { assertProperty } from '../support/property.js';

const SECRET = 'unit-session-secret-0123456789abcdef';

/** express-session's value, written from its documented recipe (cookie-signature, then encodeURIComponent). */
function expressSessionValue(sid: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${sid}.${mac}`);
}

describe('session cookie values', () => {
  it('writes and reads the value express-session wrote, so sessions survive the upgrade', () => {
    for (let i = 0; i < 200; i += 1) {
      const sid = newSessionId();
      expect(sid).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(signedCookieValue(sid, SECRET)).toBe(expressSessionValue(sid, SECRET));
      expect(verifiedSessionId(expressSessionValue(sid, SECRET), SECRET)).toBe(sid);
    }
    // Quoted, as RFC 6265 allows and the cookie parser express-session used accepted.
    const sid = newSessionId();
    expect(verifiedSessionId(`"${signedCookieValue(sid, SECRET)}"`, SECRET)).toBe(sid);
  });

  it('finds nothing in a value that is not signed with this secret for this ID', () => {
    const sid = newSessionId();
    const good = decodeURIComponent(signedCookieValue(sid, SECRET));
    const mac = good.slice(good.lastIndexOf('.') + 1);
    const refused = [
      signedCookieValue(sid, 'another-secret-0123456789abcdef'),
      encodeURIComponent(`s:${sid}x.${mac}`),
      encodeURIComponent(`s:${sid}.${mac.slice(0, -1)}`),
      encodeURIComponent(`s:${sid}.${mac}A`),
      encodeURIComponent(`s:${sid}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`),
      encodeURIComponent(`${sid}.${mac}`),
      encodeURIComponent(`s:.${mac}`),
      's:',
      's%3A',
      '',
      sid,
      '%E0%A4%A',
      `s%3A${sid}.%`,
      '"',
      `s:${sid}.${mac}`.replace('s:', 'S:'),
    ];
    for (const value of refused) expect(verifiedSessionId(value, SECRET), value).toBeUndefined();
  });

  it('never throws on, and never accepts, what a client makes up', () => {
    assertProperty(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (value) => {
        expect(verifiedSessionId(value, SECRET)).toBeUndefined();
        expect(() => cookieValue(value, 'nbgw_session')).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the first cookie of exactly that name from a Cookie header', () => {
    expect(cookieValue('nbgw_session=a', 'nbgw_session')).toBe('a');
    expect(cookieValue('x=1; nbgw_session=a; nbgw_session=b', 'nbgw_session')).toBe('a');
    expect(cookieValue(' x=1 ;  nbgw_session =  a  ; y', 'nbgw_session')).toBe('a');
    expect(cookieValue('xnbgw_session=a; nbgw_session_x=b; nbgw_sessio=c', 'nbgw_session')).toBeUndefined();
    expect(cookieValue('nbgw_session', 'nbgw_session')).toBeUndefined();
    expect(cookieValue('nbgw_session=a=b=c', 'nbgw_session')).toBe('a=b=c');
    expect(cookieValue('garbage; =; ;;nbgw_session=', 'nbgw_session')).toBe('');
    expect(cookieValue(undefined, 'nbgw_session')).toBeUndefined();
  });
});
