import type { Accounting, AccountingSession, SessionEndCause } from '../aaa/types.js';
import type { Logger } from '../log.js';
import type { WebSessionOpener } from '../netbox/types.js';
import type { SessionLifetimes, SignedInUser } from './types.js';

/**
 * What happens when a gateway session begins and ends, whichever way it ends: a logout, NetBox refusing
 * it, or an idle or absolute timeout noticed by the store's purge while nobody is looking. Ending closes the
 * user's NetBox web session and sends the accounting STOP; both are best effort and never throw.
 */
export class SessionLifecycle {
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      readonly accounting: Accounting | undefined;
      readonly webSessions: WebSessionOpener;
      readonly lifetimes: SessionLifetimes;
      readonly logger: Logger;
    },
  ) {}

  /** Accounting START runs in the background so a slow accounting server never delays a login. */
  began(user: SignedInUser): void {
    const { accounting } = this.deps;
    if (accounting) this.#track(accounting.start(accountingSession(user)));
  }

  /**
   * Waits for the NetBox logout, which the user's next page depends on; the accounting STOP goes in the
   * background like the START, so a dead accounting server never holds a logout up.
   */
  async ended(user: SignedInUser, cause: SessionEndCause): Promise<void> {
    const now = Date.now();
    this.deps.logger.info({ username: user.username, cause, durationMs: now - user.signedInAt }, 'session ended');
    const { accounting } = this.deps;
    if (accounting) this.#track(accounting.stop(accountingSession(user), { at: now, cause }));
    const logout = this.deps.webSessions.close(user.netboxCookies);
    this.#track(logout);
    await logout;
  }

  /** Called by the store for each session its purge removes. */
  expired(user: SignedInUser): void {
    const cause = user.signedInAt + this.deps.lifetimes.maxAgeMs <= Date.now() ? 'max-age' : 'idle-timeout';
    // Called from a store's timer: a failure here (a session written by another version, say) must not end the process.
    this.ended(user, cause).catch((error: unknown) => this.deps.logger.error({ err: error }, 'could not end an expired session'));
  }

  /** Waits for accounting and NetBox logouts still under way, e.g. before the process exits. */
  async drain(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.deps.logger.error({ err: error }, 'session begin/end work failed');
    });
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}

function accountingSession(user: SignedInUser): AccountingSession {
  return { id: user.accountingId, username: user.username, clientAddress: user.clientAddress, startedAt: user.signedInAt };
}
