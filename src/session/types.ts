import type { PendingChallenge } from '../aaa/types.js';
import type { NetboxCookieJar } from '../netbox/types.js';

/** Who is signed in, as the gateway remembers it between requests. */
export interface SignedInUser {
  /** As NetBox stores it. */
  readonly username: string;
  readonly netboxUserId: number;
  readonly groups: readonly string[];
  /** Which AAA server accepted the password, for the audit trail. */
  readonly authServer: string;
  readonly clientAddress: string;
  /** The accounting session ID (TACACS+ task_id): the same in the START and the STOP record. */
  readonly accountingId: string;
  readonly signedInAt: number;
  lastSeenAt: number;
  /** NetBox's sessionid/csrftoken, kept here so the browser never holds a NetBox credential. */
  netboxCookies: NetboxCookieJar;
  /** When the gateway last had to log into NetBox again behind the user's back; bounds re-login loops. */
  netboxReloginAt?: number;
  /** When NetBox last sent this user to its login page, which the gateway turned into /-/reauth. */
  netboxReloginRequestedAt?: number;
}

/** Between the two steps of a challenged sign-in. */
export interface ChallengeInProgress {
  readonly username: string;
  readonly next: string;
  readonly challenge: PendingChallenge;
  readonly issuedAt: number;
}

declare module 'express-session' {
  interface SessionData {
    challenge?: ChallengeInProgress;
    user?: SignedInUser;
    /** Synchronizer token for the gateway's own forms. */
    csrfToken?: string;
  }
}

export interface SessionLifetimes {
  readonly idleTimeoutMs: number;
  readonly maxAgeMs: number;
}

/**
 * A session nobody signed into yet only carries the login form's CSRF token (and a pending challenge): it need not
 * outlive a sign-in attempt, and anonymous visitors must not fill the store for an hour each.
 */
const ANONYMOUS_SESSION_MS = 10 * 60_000;

/** The moment after which a stored session is dead, whatever the browser still sends. */
export function sessionExpiry(user: SignedInUser | undefined, lifetimes: SessionLifetimes, now: number): number {
  if (user === undefined) return now + Math.min(ANONYMOUS_SESSION_MS, lifetimes.idleTimeoutMs);
  return Math.min(user.signedInAt + lifetimes.maxAgeMs, user.lastSeenAt + lifetimes.idleTimeoutMs);
}
