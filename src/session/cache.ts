import type { SessionData } from './types.js';

/**
 * How long a process serves a session it read from memory before reading the store again. Its own changes (save,
 * logout, rotation at login, expiry) apply at once; a logout by another process shows here within this time, and
 * that process's record of the ended session keeps this one from saving it back.
 */
export const SESSION_CACHE_MS = 1_000;
/** Entries at most, whatever a second of traffic touched. */
const SESSION_CACHE_ENTRIES = 10_000;

interface CachedSession {
  readonly data: SessionData;
  expiresAt: number;
  readonly readAt: number;
}

/**
 * What a store read in the last SESSION_CACHE_MS, with each session's expiry, checked on every read. Sessions are
 * immutable (a change makes a new object), so an entry is served as it is to every request.
 */
export class SessionCache {
  readonly #entries = new Map<string, CachedSession>();

  /** The session when read within the cache's time: `null` when it has expired meanwhile, undefined when not known. */
  get(sid: string, now: number): SessionData | null | undefined {
    const cached = this.#entries.get(sid);
    if (cached === undefined || now - cached.readAt >= SESSION_CACHE_MS) return undefined;
    if (cached.expiresAt > now) return cached.data;
    this.#entries.delete(sid);
    return null;
  }

  /** What the store has just read or written for `sid` (undefined: nothing live): kept, or forgotten. */
  keep(sid: string, stored: { readonly data: SessionData; readonly expiresAt: number } | undefined, now: number): SessionData | undefined {
    if (stored === undefined) {
      this.forget(sid);
      return undefined;
    }
    this.remember(sid, stored.data, stored.expiresAt, now);
    return stored.data;
  }

  remember(sid: string, data: SessionData, expiresAt: number, now: number): void {
    // Re-inserted, so the Map's order stays oldest read first: what is too old to serve is dropped from the front,
    // and the cache holds about a second of traffic, not every session seen lately.
    this.#entries.delete(sid);
    this.#entries.set(sid, { data, expiresAt, readAt: now });
    for (const [oldSid, cached] of this.#entries) {
      if (now - cached.readAt < SESSION_CACHE_MS && this.#entries.size <= SESSION_CACHE_ENTRIES) break;
      this.#entries.delete(oldSid);
    }
  }

  /** A new expiry for a cached session (an anonymous one that slid on). */
  extend(sid: string, expiresAt: number): void {
    const cached = this.#entries.get(sid);
    if (cached !== undefined) cached.expiresAt = expiresAt;
  }

  forget(sid: string): void {
    this.#entries.delete(sid);
  }

  /** Drops what is expired or too old to serve. */
  sweep(now: number): void {
    for (const [sid, cached] of this.#entries) if (cached.expiresAt <= now || now - cached.readAt >= SESSION_CACHE_MS) this.#entries.delete(sid);
  }

  clear(): void {
    this.#entries.clear();
  }
}
