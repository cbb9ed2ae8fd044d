import type { PendingChallenge } from '../aaa/types.js';
import type { NetboxCookieJar } from '../netbox/types.js';

/**
 * Who is signed in, as the gateway remembers it between requests. Immutable: a change makes a new object through
 * the request's session (`updateUser`), so no change goes unsaved and no request sees another's half-made change.
 */
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
  readonly lastSeenAt: number;
  /** NetBox's sessionid/csrftoken, kept here so the browser never holds a NetBox credential. */
  readonly netboxCookies: NetboxCookieJar;
  /** When the gateway last had to log into NetBox again behind the user's back; bounds re-login loops. */
  readonly netboxReloginAt?: number;
  /** When NetBox last sent this user to its login page, which the gateway turned into /-/reauth. */
  readonly netboxReloginRequestedAt?: number;
}

/** What of a signed-in user changes while the session lasts. */
export type SignedInUserChange = Partial<Pick<SignedInUser, 'lastSeenAt' | 'netboxCookies' | 'netboxReloginAt' | 'netboxReloginRequestedAt'>>;

/** Between the two steps of a challenged sign-in. */
export interface ChallengeInProgress {
  readonly username: string;
  readonly next: string;
  readonly challenge: PendingChallenge;
  readonly issuedAt: number;
}

/** One browser's session as the store keeps it. */
export interface SessionData {
  readonly user?: SignedInUser;
  readonly challenge?: ChallengeInProgress;
  /** Synchronizer token for the gateway's own forms. */
  readonly csrfToken?: string;
}

/**
 * Where sessions live. Each session carries its own expiry, computed from the gateway's idle and absolute lifetimes
 * when it is stored (`sessionExpiry`): `get` never returns a dead session, whatever the browser still sends.
 */
export interface SessionStore {
  /** The session, if it exists and has not expired. */
  get(sid: string): Promise<SessionData | undefined>;
  /** Stores a new session and its expiry; false when the ID ended meanwhile, which is then not brought back. */
  set(sid: string, data: SessionData): Promise<boolean>;
  /**
   * Applies a change to the session as it is stored now, not as the request read it, so that what concurrent
   * requests change all survives (one a NetBox cookie, another the last-seen time). Atomic per session. Returns the
   * session as stored, or undefined when it has ended or expired (and nothing is stored).
   */
  update(sid: string, change: (current: SessionData) => SessionData): Promise<SessionData | undefined>;
  /** Moves an anonymous session's expiry on; a signed-in session's follows from its own times. */
  touch(sid: string, data: SessionData): Promise<void>;
  /**
   * Ends the session: it is gone, and a save from a request that began before this cannot bring it back. True when
   * there was one to end (live, or past its end and not yet purged): the caller then accounts for its end, and the
   * purge never will, so each end is accounted for once.
   */
  end(sid: string): Promise<boolean>;
  /** Signed-in sessions not yet expired. */
  count(): Promise<number>;
  close(): Promise<void>;
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
