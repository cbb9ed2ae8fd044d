import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';
import { cookieValue, newSessionId, signedCookieValue, verifiedSessionId } from '../session/session-id.js';
import type { ChallengeInProgress, SessionData, SessionStore, SignedInUser, SignedInUserChange } from '../session/types.js';

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
    options.store.get(sid).then((data) => {
      req.session = new GatewaySession(options, req, res, data === undefined ? undefined : sid, data ?? {});
      // A login form left open slides on; a signed-in session's expiry follows from its own times.
      if (data !== undefined && data.user === undefined) options.store.touch(sid, data).catch((error: unknown) => options.logger.error({ err: error }, 'could not extend a session'));
      next();
    }, next);
  };
}

/** One request's view of its session. Changes go through it, so none is left unsaved. */
export class GatewaySession {
  #sid: string | undefined;
  #data: SessionData;
  #changed = false;
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
    this.#change({ challenge });
  }

  get csrfToken(): string | undefined {
    return this.#data.csrfToken;
  }

  set csrfToken(csrfToken: string | undefined) {
    this.#change({ csrfToken });
  }

  updateUser(change: SignedInUserChange): void {
    const user = this.#data.user;
    if (user === undefined) throw new Error('no user is signed in on this session');
    this.#change({ user: { ...user, ...change } });
  }

  /**
   * Signs the user in on a new session ID, so an ID planted before sign-in (session fixation) is worthless after it;
   * the old ID ends in the store. Saved before this returns.
   */
  async signIn(user: SignedInUser): Promise<void> {
    if (this.#sid !== undefined) await this.options.store.end(this.#sid);
    this.#sid = newSessionId();
    this.#data = { user };
    this.#changed = true;
    await this.save();
  }

  /** Ends the session in the store and in the browser; what follows in this request starts a new, empty one. */
  async end(): Promise<void> {
    const sid = this.#sid;
    this.#sid = undefined;
    this.#data = {};
    this.#changed = false;
    if (sid !== undefined) await this.options.store.end(sid);
    if (this.#browserSid !== undefined) {
      this.#browserSid = undefined;
      this.#setCookie('', '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    }
  }

  async save(): Promise<void> {
    if (!this.#changed) return;
    this.#changed = false;
    const sid = (this.#sid ??= newSessionId());
    const stored = await this.options.store.set(sid, this.#data);
    if (stored && sid !== this.#browserSid) {
      this.#browserSid = sid;
      this.#setCookie(signedCookieValue(sid, this.options.secret), '');
    }
  }

  #change(patch: SessionData): void {
    this.#data = { ...this.#data, ...patch };
    if (this.#changed) return;
    this.#changed = true;
    this.#saveBeforeTheAnswerEnds();
  }

  /** The answer's end waits for the save, so the browser's next request cannot overtake it. */
  #saveBeforeTheAnswerEnds(): void {
    const { res } = this;
    const end = res.end;
    res.end = ((...args: Parameters<Response['end']>) => {
      res.end = end;
      this.save().then(
        () => end.apply(res, args),
        (error: unknown) => {
          this.options.logger.error({ err: error }, 'could not save a session');
          end.apply(res, args);
        },
      );
      return res;
    }) as Response['end'];
  }

  #setCookie(value: string, extra: string): void {
    if (this.res.headersSent) return;
    const secure = this.req.secure ? '; Secure' : '';
    this.res.append('Set-Cookie', `${this.options.cookieName}=${value}; Path=/${extra}; HttpOnly; SameSite=Lax${secure}`);
  }
}
