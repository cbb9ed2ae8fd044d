/**
 * Where failed sign-ins and bans are kept, by opaque key. The caller passes every time in, so the policy alone
 * owns the clock. Each method is one atomic step, so that several gateways may share a store: in Redis,
 * `addFailure` is one script of ZREMRANGEBYSCORE, ZADD, PEXPIRE and ZCARD on the key's sorted set, and `ban` one
 * script that sets the ban key unless it holds a ban in force at the caller's `now`.
 */
export interface RegulationStore {
  /**
   * Records one failure of `key` at `at`, forgets its failures at or before `at - windowMs`, and returns how
   * many remain, this one included. Failures at the same moment count separately.
   */
  addFailure(key: string, at: number, windowMs: number): Promise<number>;
  /** Forgets every failure of `key`; a ban of `key` stays. */
  clearFailures(key: string): Promise<void>;
  /**
   * Bans `key` until `until`, unless a ban of it is still in force at `now` (that one is neither extended nor
   * shortened). True when this call started the ban, so that concurrent callers report it once.
   */
  ban(key: string, until: number, now: number): Promise<boolean>;
  /** When the ban of `key` in force at `now` ends; undefined when there is none. */
  bannedUntil(key: string, now: number): Promise<number | undefined>;
  close(): Promise<void>;
}

/** What is counted: a NetBox user name, or a client address (an IPv6 client by its /64). */
export type SubjectKind = 'user' | 'address';

/**
 * The counted subjects of one sign-in attempt, already normalised. `user` is undefined when the typed name
 * cannot be a NetBox user name (the sign-in refuses it before asking any AAA server).
 */
export interface LoginSubjects {
  readonly user: string | undefined;
  readonly address: string | undefined;
}

export type RegulationVerdict =
  | { readonly kind: 'allowed' }
  /** Every ban in force ends by `until`; `retryAfterSeconds` is the Retry-After value for it (at least 1). */
  | { readonly kind: 'banned'; readonly until: number; readonly retryAfterSeconds: number };
