import { createHmac } from 'node:crypto';

// NetBox's default validators want 12+ characters with an upper-case letter, a lower-case letter and a digit; the
// base64url digest alone may lack one of those, the prefix guarantees all three.
const PREFIX = 'Gw1-';

/**
 * The NetBox password the gateway manages for `username`. Derived rather than stored so that every replica computes
 * the same value, restarts change nothing, and there is no password store to protect. Case-insensitive in the
 * username because NetBox usernames are unique ignoring case.
 */
export function derivePassword(secret: string, username: string): string {
  if (secret === '') throw new Error('the NetBox password secret is empty');
  const digest = createHmac('sha256', secret).update(`netbox-password\0${username.toLowerCase()}`).digest('base64url');
  return PREFIX + digest;
}
