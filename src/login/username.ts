import type { UsernameRules } from '../config/types.js';

/** NetBox's username validator (Django's UnicodeUsernameValidator) and field length. */
const NETBOX_USERNAME = /^[\p{L}\p{N}_.@+-]+$/u;
const NETBOX_USERNAME_MAX = 150;

export type UsernameResult = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly problem: string };

/**
 * The NetBox username for what the user typed: an optional `DOMAIN\` prefix and `@realm` suffix removed (AD and
 * RADIUS realms), optionally folded to lower case, then checked against what NetBox can store.
 */
export function netboxUsername(typed: string, rules: UsernameRules): UsernameResult {
  let name = typed;
  if (rules.stripDomain && name.includes('\\')) {
    const domain = name.slice(0, name.lastIndexOf('\\'));
    if (rules.allowedDomains.length > 0 && !rules.allowedDomains.includes(domain.toLowerCase())) {
      return { ok: false, problem: `the domain ${domain} is not one this gateway signs in (USERNAME_ALLOWED_DOMAINS)` };
    }
    name = name.slice(name.lastIndexOf('\\') + 1);
  }
  if (rules.stripRealm && name.lastIndexOf('@') > 0) {
    const realm = name.slice(name.lastIndexOf('@') + 1);
    if (rules.allowedRealms.length > 0 && !rules.allowedRealms.includes(realm.toLowerCase())) {
      return { ok: false, problem: `the realm ${realm} is not one this gateway signs in (USERNAME_ALLOWED_REALMS)` };
    }
    name = name.slice(0, name.lastIndexOf('@'));
  }
  if (rules.caseFold === 'lower') name = name.toLowerCase();
  if (name === '') return { ok: false, problem: 'the user name is empty once its domain or realm is removed' };
  if (name.length > NETBOX_USERNAME_MAX) return { ok: false, problem: `NetBox user names are at most ${NETBOX_USERNAME_MAX} characters` };
  if (!NETBOX_USERNAME.test(name)) {
    const hint = !rules.stripDomain && name.includes('\\') ? ' (set USERNAME_STRIP_DOMAIN=true to sign in as DOMAIN\\user)' : '';
    return { ok: false, problem: `NetBox user names may contain letters, digits and . @ + - _ only${hint}` };
  }
  return { ok: true, name };
}
