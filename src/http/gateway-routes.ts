import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, Router } from 'express';
import type { SessionEndCause } from '../aaa/types.js';
import type { Logger } from '../log.js';
import type { SignIn, SignInResult } from '../login/sign-in.js';
import { NetboxUnavailable, type WebSessionOpener } from '../netbox/types.js';
import type { LoginRegulation } from '../regulation/regulator.js';
import type { SessionLifecycle } from '../session/lifecycle.js';
import type { ChallengeInProgress, SignedInUser } from '../session/types.js';
import { cameFromThisSite, csrfTokenFor, csrfTokenMatches, originAllowed } from './csrf.js';
import { localRedirectTarget } from './local-redirect.js';
import { BANNED_MESSAGE, regulatedSignIn } from './regulation.js';

/** Two re-logins into NetBox closer together than this mean NetBox keeps refusing the session: stop looping. */
const RELOGIN_MIN_INTERVAL_MS = 60_000;
/** NetBox's login redirect and the browser following it to /-/reauth are one moment apart. */
const RELOGIN_REQUEST_MAX_AGE_MS = 60_000;
const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;
/** A challenge (OTP, push approval) must be answered within this; RADIUS servers forget their State sooner or later too. */
const CHALLENGE_MAX_AGE_MS = 5 * 60_000;

const NOTICES = {
  'signed-out': 'You have been signed out.',
  'netbox-session-ended': 'NetBox ended your session. Please sign in again.',
} as const;
type Notice = keyof typeof NOTICES;

const FAILURES: Record<Exclude<SignInResult['kind'], 'signed-in' | 'challenge'>, { status: number; message: string }> = {
  rejected: { status: 401, message: 'Sign-in failed: wrong user name or password.' },
  'invalid-input': { status: 400, message: 'Sign-in failed.' },
  'aaa-unavailable': {
    status: 503,
    message: 'The authentication service cannot be reached right now. Please try again in a few minutes; if this persists, tell your NetBox administrators.',
  },
  'not-authorized': {
    status: 403,
    message: 'Your password was accepted, but the authentication service does not authorize you for NetBox.',
  },
  'no-role': {
    status: 403,
    message: 'Your password was accepted, but your account has no role that gives access to NetBox. Ask your network or NetBox administrators.',
  },
  'not-allowed': {
    status: 403,
    message: 'Your password was accepted, but your account has not been set up in NetBox. Ask a NetBox administrator to create it.',
  },
  'netbox-unavailable': {
    status: 503,
    message: 'Your password was accepted, but NetBox cannot be reached right now. Please try again shortly.',
  },
};

export interface GatewayRoutesDeps {
  readonly signIn: SignIn;
  readonly webSessions: WebSessionOpener;
  readonly lifecycle: SessionLifecycle;
  readonly regulation: LoginRegulation;
  readonly logger: Logger;
  readonly renderUnavailable: (req: Request, res: Response, status: number) => void;
}

/** The gateway's own pages under `/-/`, and NetBox's login/logout links pointed at them. */
export function gatewayRoutes({ signIn, webSessions, lifecycle, regulation, logger, renderUnavailable }: GatewayRoutesDeps): Router {
  const router = Router();
  const formBody = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
  const regulated = regulatedSignIn(regulation, (req, res, next) => renderLogin(req, res, 429, { next, error: BANNED_MESSAGE }));

  router.get('/-/login', (req, res) => {
    const next = localRedirectTarget(req.query.next);
    if (req.session.user) {
      res.redirect(303, next);
      return;
    }
    const notice = typeof req.query.notice === 'string' && Object.hasOwn(NOTICES, req.query.notice) ? NOTICES[req.query.notice as Notice] : undefined;
    renderLogin(req, res, 200, { next, notice });
  });

  router.post('/-/login', formBody, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = localRedirectTarget(body.next);
    const clientAddress = req.ip ?? req.socket.remoteAddress ?? '';
    if (!originAllowed(req) || !csrfTokenMatches(req, body.csrf_token)) {
      renderLogin(req, res, 403, { next, username: typeof body.username === 'string' ? body.username.trim() : '', error: 'Your sign-in form had expired. Please try again.' });
      return;
    }

    // The second step answers the challenge kept in this session; the browser cannot choose the user or server.
    if (typeof body.challenge_answer === 'string') {
      const pending = req.session.challenge;
      req.session.challenge = undefined;
      if (!pending || Date.now() - pending.issuedAt > CHALLENGE_MAX_AGE_MS) {
        renderLogin(req, res, 400, { next, error: 'Your sign-in took too long. Please start again.' });
        return;
      }
      const answer = body.challenge_answer;
      if (answer === '' || answer.length > MAX_PASSWORD_LENGTH) {
        renderChallenge(req, res, 400, pending, 'Enter the answer.');
        return;
      }
      const result = await regulated(req, res, { username: pending.username, clientAddress, next: pending.next }, () =>
        signIn.answer({ username: pending.username, password: answer, clientAddress, challenge: pending.challenge }),
      );
      if (result) await conclude(req, res, result, pending.username, pending.next);
      return;
    }

    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (username === '' || password === '' || username.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      renderLogin(req, res, 400, { next, username, error: 'Enter your user name and password.' });
      return;
    }
    const result = await regulated(req, res, { username, clientAddress, next }, () => signIn.run({ username, password, clientAddress }));
    if (result) await conclude(req, res, result, username, next);
  });

  async function conclude(req: Request, res: Response, result: SignInResult, username: string, next: string): Promise<void> {
    if (result.kind === 'challenge') {
      const pending = { username, next, challenge: result.challenge, issuedAt: Date.now() };
      // A new ID before the session holds a half-done sign-in: one planted in the browser (from a sibling host, or
      // over plain HTTP) must not be the one an approved push or a typed code signs in.
      await req.session.renew();
      req.session.challenge = pending;
      renderChallenge(req, res, 200, pending);
      return;
    }
    if (result.kind !== 'signed-in') {
      const failure = FAILURES[result.kind];
      const error =
        result.kind === 'invalid-input'
          ? `Sign-in failed: ${result.message}`
          : result.kind === 'not-authorized' && result.message
            ? `${failure.message} It said: “${result.message}”`
            : failure.message;
      renderLogin(req, res, failure.status, { next, username, error });
      return;
    }

    const replaced = req.session.user;
    const now = Date.now();
    const user: SignedInUser = {
      username: result.user.username,
      netboxUserId: result.user.id,
      groups: result.user.groups,
      authServer: result.authServer,
      clientAddress: req.ip ?? '',
      accountingId: randomBytes(8).toString('hex'),
      signedInAt: now,
      lastSeenAt: now,
      netboxCookies: result.netboxCookies,
    };
    let replacedEnded: boolean;
    try {
      replacedEnded = await req.session.signIn(user);
    } catch (error) {
      // No gateway session holds the NetBox session just opened for it: it must not stay open.
      await webSessions.close(result.netboxCookies);
      throw error;
    }
    // Signing in again from a signed-in browser replaced that session: it ends like a logout, once it cannot be used.
    if (replaced && replacedEnded) await lifecycle.ended(replaced, 'logout');
    lifecycle.began(user);
    res.redirect(303, next);
  }

  // Signing out is a state change: a POST with the form token, or a GET from this site's own pages (NetBox's
  // "Log out" link is a plain link). Anything else, a link or image on another site, gets a page to confirm on.
  router.post('/-/logout', formBody, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.session.user && (!originAllowed(req) || !csrfTokenMatches(req, body.csrf_token))) {
      renderSignOut(req, res, 403, { next: '/', message: 'Your sign-out form had expired. Sign out again?' });
      return;
    }
    await signOut(req, res);
  });
  router.get('/-/logout', async (req, res) => {
    if (req.session.user && !cameFromThisSite(req)) renderSignOut(req, res, 200, { next: '/' });
    else await signOut(req, res);
  });
  const signOut = async (req: Request, res: Response) => {
    const signedIn = req.session.user !== undefined;
    await endSession(req, lifecycle, 'logout');
    res.redirect(303, signedIn ? '/-/login?notice=signed-out' : '/-/login');
  };

  /** NetBox answered a proxied request with its login redirect: its session is gone, get a new one once. */
  router.get('/-/reauth', async (req, res) => {
    const next = localRedirectTarget(req.query.next);
    const user = req.session.user;
    if (!user) {
      res.redirect(303, `/-/login?next=${encodeURIComponent(next)}`);
      return;
    }
    const now = Date.now();
    // Another site can send the browser here as often as it likes: without NetBox having asked for it (through the
    // proxy, just now) or this site's own pages, nothing is renewed, and the user just goes on.
    const requested = user.netboxReloginRequestedAt !== undefined && now - user.netboxReloginRequestedAt < RELOGIN_REQUEST_MAX_AGE_MS;
    if (user.netboxReloginRequestedAt !== undefined) req.session.updateUser({ netboxReloginRequestedAt: undefined });
    if (!requested && !cameFromThisSite(req)) {
      res.redirect(303, next);
      return;
    }
    if (user.netboxReloginAt !== undefined && now - user.netboxReloginAt < RELOGIN_MIN_INTERVAL_MS) {
      // Only this site's own pages may end the session.
      if (!cameFromThisSite(req)) {
        renderSignOut(req, res, 200, { next, message: 'NetBox did not accept your session just now. Go back to NetBox to try again, or sign out.' });
        return;
      }
      logger.warn({ username: user.username }, 'NetBox refused a fresh session again; signing the user out');
      await endSession(req, lifecycle, 'netbox-refused');
      res.redirect(303, `/-/login?notice=netbox-session-ended&next=${encodeURIComponent(next)}`);
      return;
    }
    try {
      // NetBox has most likely ended the old session already; if not, it must not linger beside the new one.
      await webSessions.close(user.netboxCookies);
      const netboxCookies = await webSessions.open({ id: user.netboxUserId, username: user.username, groups: user.groups });
      req.session.updateUser({ netboxCookies, netboxReloginAt: now });
      logger.info({ username: user.username }, 'NetBox session renewed');
      res.redirect(303, next);
    } catch (error) {
      if (!(error instanceof NetboxUnavailable)) throw error;
      logger.error({ username: user.username, error: error.message }, 'could not renew the NetBox session');
      renderUnavailable(req, res, 503);
    }
  });

  // NetBox's own links: its login page would ask for a local password the user does not have.
  router.all('/login/', (req, res) => {
    res.redirect(302, `/-/login?next=${encodeURIComponent(localRedirectTarget(req.query.next))}`);
  });
  router.all('/logout/', (_req, res) => {
    res.redirect(302, '/-/logout');
  });

  return router;
}

interface LoginView {
  next: string;
  username?: string;
  error?: string;
  notice?: string;
}

function renderLogin(req: Request, res: Response, status: number, view: LoginView): void {
  res.status(status).render('login', {
    csrfToken: csrfTokenFor(req),
    next: view.next,
    username: view.username ?? '',
    error: view.error,
    notice: view.notice,
    prompt: undefined,
  });
}

/** The second step: the server's question (its Reply-Message, escaped by the view) and a field for the answer. */
function renderChallenge(req: Request, res: Response, status: number, pending: ChallengeInProgress, error?: string): void {
  res.status(status).render('login', {
    csrfToken: csrfTokenFor(req),
    next: pending.next,
    username: pending.username,
    error,
    notice: undefined,
    prompt: pending.challenge.prompt || 'Enter the code sent to you.',
  });
}

/** The page that asks before signing out: for a request that did not come from this site's own pages. */
function renderSignOut(req: Request, res: Response, status: number, view: { next: string; message?: string }): void {
  res.status(status).render('logout', { csrfToken: csrfTokenFor(req), next: view.next, message: view.message });
}

/** Ends the gateway session, and with it the NetBox web session and the accounting record. */
async function endSession(req: Request, lifecycle: SessionLifecycle, cause: SessionEndCause): Promise<void> {
  // The session is gone before NetBox's is closed, so no request in between can renew NetBox's behind the logout.
  const user = req.session.user;
  // A purge that got there first (the session had just run out) has accounted for its end already.
  if ((await req.session.end()) && user) await lifecycle.ended(user, cause);
}
