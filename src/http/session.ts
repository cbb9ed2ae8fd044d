import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';
import { RedisUnavailable } from '../redis/connection.js';
import { cookieValue, newSessionId, signedCookieValue, verifiedSessionId } from '../session/session-id.js';
import type { ChallengeInProgress, SessionData, SessionStore, SignedInUser, SignedInUserChange } from '../session/types.js';
import { renderStoreUnavailable } from './answers.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by the session step; the steps before it (health, static files) have none. */
      session: GatewaySession;
    }
  }
}

export interface SessionOptions {
  readonly store: SessionStore;
  readonly cookieName: string;
  readonly secret: string;
  readonly logger: Logger;
}

/**
 * The gateway session: the browser's signed cookie names a session in the store, which this step loads once per
 * request. A changed session is saved before the answer ends, so the browser's next request finds it; an unchanged
 * one costs no write. The cookie has no Max-Age: the store enforces idle and absolute lifetimes, and a browser
 * closing drops the cookie. It is HttpOnly and SameSite=Lax, and Secure whenever the request came over HTTPS,
 * directly or per a trusted X-Forwarded-Proto.
 */
export function gatewaySession(options: SessionOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const value = cookieValue(req.headers.cookie, options.cookieName);
    const sid = value === undefined ? undefined : verifiedSessionId(value, options.secret);
    if (sid === undefined) {
      req.session = new GatewaySession(options, req, res, undefined, {});
      next();
      return;
    }
    options.store
      .get(sid)
      .then((data) => {
        req.session = new GatewaySession(options, req, res, data === undefined ? undefined : sid, data ?? {});
        // A login form left open slides on; a signed-in session's expiry follows from its own times.
        if (data !== undefined && data.user === undefined) options.store.touch(sid, data).catch((error: unknown) => options.logger.error({ err: error }, 'could not extend a session'));
        next();
      })
      .catch(next);
  };
}

/** A changed session not saved within this is given up, so a store that hangs cannot hold an answer forever. */
const SAVE_DEADLINE_MS = 5_000;

/** What a request changed, applied to the stored session when it is saved. */
interface Changes {
  top: { challenge?: ChallengeInProgress | undefined; csrfToken?: string | undefined };
  user: SignedInUserChange | undefined;
}

/**
 * One request's view of its session. Changes go through it, so none is left unsaved; a save applies them to the
 * session as stored then, so concurrent requests of one browser do not undo each other's changes.
 */
export class GatewaySession {
  #sid: string | undefined;
  #data: SessionData;
  /** Whether the store has this ID: a new session is created by its first save, an existing one changed. */
  #stored: boolean;
  #changes: Changes | undefined;
  /** The session ID the browser holds, once it holds this session's. */
  #browserSid: string | undefined;

  constructor(
    private readonly options: SessionOptions,
    private readonly req: Request,
    private readonly res: Response,
    sid: string | undefined,
    data: SessionData,
  ) {
    this.#sid = sid;
    this.#stored = sid !== undefined;
    this.#browserSid = sid;
    this.#data = data;
  }

  get user(): SignedInUser | undefined {
    return this.#data.user;
  }

  get challenge(): ChallengeInProgress | undefined {
    return this.#data.challenge;
  }

  set challenge(challenge: ChallengeInProgress | undefined) {
    this.#changed().top.challenge = challenge;
    this.#data = { ...this.#data, challenge };
  }

  get csrfToken(): string | undefined {
    return this.#data.csrfToken;
  }

  set csrfToken(csrfToken: string | undefined) {
    this.#changed().top.csrfToken = csrfToken;
    this.#data = { ...this.#data, csrfToken };
  }

  get changed(): boolean {
    return this.#changes !== undefined;
  }

  updateUser(change: SignedInUserChange): void {
    const user = this.#data.user;
    if (user === undefined) throw new Error('no user is signed in on this session');
    const changes = this.#changed();
    changes.user = { ...changes.user, ...change };
    this.#data = { ...this.#data, user: { ...user, ...change } };
  }

  /**
   * Signs the user in on a new session ID, so an ID planted before sign-in (session fixation) is worthless after it;
   * the old ID ends in the store. Saved before this returns. True when a session was there to end (see `end`).
   */
  async signIn(user: SignedInUser): Promise<boolean> {
    const replacedOne = await this.#newId({ user });
    await this.save();
    return replacedOne;
  }

  /**
   * The same session on a new ID, and a new form token with it: for a sign-in that goes on in a second step, so a
   * session planted in the browser before the first step is not the one the second step signs in.
   */
  async renew(): Promise<void> {
    const { csrfToken: _dropped, ...kept } = this.#data;
    // The same session goes on under the new ID: nothing ended.
    await this.#newId(kept);
  }

  /**
   * Ends the session in the store and in the browser; what follows in this request starts a new, empty one. True when
   * this request ended it: a purge (on any replica) that got there first has accounted for its end already.
   */
  async end(): Promise<boolean> {
    const sid = this.#sid;
    const stored = this.#stored;
    this.#sid = undefined;
    this.#stored = false;
    this.#data = {};
    this.#changes = undefined;
    const ended = sid !== undefined && stored && (await this.options.store.end(sid));
    if (this.#browserSid !== undefined) {
      this.#browserSid = undefined;
      this.#setCookie('', '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    }
    return ended;
  }

  async save(): Promise<void> {
    const changes = this.#changes;
    if (changes === undefined) return;
    this.#changes = undefined;
    if (this.#stored && this.#sid !== undefined) {
      const sid = this.#sid;
      const stored = await this.options.store.update(sid, (current) => applyChanges(current, changes));
      // Ended meanwhile (a sign-out in another tab, an expiry): this request goes on without a session.
      if (stored === undefined) this.#forget();
      else this.#data = stored;
      return;
    }
    const sid = (this.#sid ??= newSessionId());
    if (await this.options.store.set(sid, this.#data)) {
      this.#stored = true;
      if (sid !== this.#browserSid) {
        this.#browserSid = sid;
        this.#setCookie(signedCookieValue(sid, this.options.secret), '');
      }
    } else {
      this.#forget();
    }
  }

  async #newId(data: SessionData): Promise<boolean> {
    const ended = this.#sid !== undefined && this.#stored && (await this.options.store.end(this.#sid));
    this.#sid = newSessionId();
    this.#stored = false;
    this.#data = data;
    this.#changed();
    return ended;
  }

  #forget(): void {
    this.#sid = undefined;
    this.#stored = false;
    this.#data = {};
  }

  #changed(): Changes {
    if (this.#changes === undefined) {
      this.#changes = { top: {}, user: undefined };
      this.#saveBeforeTheAnswerEnds();
    }
    return this.#changes;
  }

  /**
   * The answer's end waits for the save, so the browser's next request cannot overtake it. The proxy saves before
   * it writes NetBox's answer, so this only ever holds back the gateway's own pages, which are written at once.
   */
  #saveBeforeTheAnswerEnds(): void {
    const { res, options } = this;
    const end = res.end;
    res.end = ((...args: Parameters<Response['end']>) => {
      res.end = end;
      if (this.#changes === undefined) return end.apply(res, args);
      let deadline: NodeJS.Timeout | undefined;
      const saved = Promise.race([
        this.save(),
        new Promise<void>((_resolve, reject) => {
          deadline = setTimeout(() => reject(new Error(`no answer from the session store within ${SAVE_DEADLINE_MS} ms`)), SAVE_DEADLINE_MS);
        }),
      ]);
      const finish = () => {
        clearTimeout(deadline);
        // An error handler may have answered while the save was under way.
        if (res.writableEnded) return;
        try {
          end.apply(res, args);
        } catch (error) {
          res.destroy(error instanceof Error ? error : undefined);
        }
      };
      saved.then(finish, (error: unknown) => {
        clearTimeout(deadline);
        // A page that needs its session saved (a login form's token) is no use without it: the store's outage
        // page instead, which the connection has logged already.
        if (error instanceof RedisUnavailable && !res.headersSent && !res.writableEnded) {
          renderStoreUnavailable(this.req, res);
          return;
        }
        options.logger.error({ err: error }, 'could not save a session');
        finish();
      });
      return res;
    }) as Response['end'];
  }

  #setCookie(value: string, extra: string): void {
    if (this.res.headersSent) return;
    const secure = this.req.secure ? '; Secure' : '';
    this.res.append('Set-Cookie', `${this.options.cookieName}=${value}; Path=/${extra}; HttpOnly; SameSite=Lax${secure}`);
  }
}

function applyChanges(current: SessionData, changes: Changes): SessionData {
  const next: SessionData = { ...current, ...changes.top };
  return changes.user !== undefined && next.user !== undefined ? { ...next, user: { ...next.user, ...changes.user } } : next;
}
