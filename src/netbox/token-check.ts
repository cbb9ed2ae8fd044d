import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';

export type TokenVerdict = 'valid' | 'invalid' | 'unavailable';

export interface TokenCheckOptions {
  readonly baseUrl: URL;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** How long an answer is reused. NetBox still checks the token on the request itself; this only gates reaching it. */
  readonly validTtlMs?: number;
  readonly invalidTtlMs?: number;
  readonly maxEntries?: number;
}

interface Entry {
  readonly verdict: 'valid' | 'invalid';
  readonly until: number;
}

/**
 * Asks NetBox whether an API token is good before a request carrying it may pass without a gateway session, so
 * a made-up token reaches nothing even where NetBox would serve anonymous callers. `/api/users/config/` answers
 * any authenticated caller on every 4.x release and nobody else. The client address goes along because NetBox
 * checks a token's allowed_ips against it.
 */
export class TokenCheck {
  readonly #cache = new Map<string, Entry>();
  readonly #url: URL;

  constructor(private readonly options: TokenCheckOptions) {
    this.#url = new URL('api/users/config/', options.baseUrl.href.endsWith('/') ? options.baseUrl : `${options.baseUrl.href}/`);
  }

  async verdict(authorization: string, clientAddress: string): Promise<TokenVerdict> {
    // Only a digest is kept: the cache must not become a store of live tokens.
    const key = createHash('sha256').update(`${authorization}\0${clientAddress}`).digest('hex');
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.until > now) return cached.verdict;
    this.#cache.delete(key);

    let status: number;
    try {
      const response = await fetch(this.#url, {
        headers: { Authorization: authorization, Accept: 'application/json', 'X-Real-IP': clientAddress, 'X-Forwarded-For': clientAddress },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
      status = response.status;
    } catch (error) {
      this.options.logger.warn({ error: (error as Error).message }, 'NetBox did not answer a token check');
      return 'unavailable';
    }
    const verdict = status === 200 ? 'valid' : status === 401 || status === 403 ? 'invalid' : undefined;
    if (verdict === undefined) {
      this.options.logger.warn({ status }, 'NetBox answered a token check unexpectedly');
      return 'unavailable';
    }
    this.#remember(key, { verdict, until: now + (verdict === 'valid' ? (this.options.validTtlMs ?? 60_000) : (this.options.invalidTtlMs ?? 10_000)) });
    return verdict;
  }

  #remember(key: string, entry: Entry): void {
    // Oldest first out: a Map keeps insertion order.
    if (this.#cache.size >= (this.options.maxEntries ?? 10_000)) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
  }
}
