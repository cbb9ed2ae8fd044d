import type { AttributeBag } from '../aaa/attributes.js';
import { InvalidCredentials, type AuthOutcome, type Authenticator, type PendingChallenge } from '../aaa/types.js';
import type { Logger } from '../log.js';
import {
  NetboxUnavailable,
  UserNotAllowed,
  type NetboxCookieJar,
  type NetboxUser,
  type Provisioner,
  type UserProfile,
  type WebSessionOpener,
} from '../netbox/types.js';
import type { UsernameRules } from '../config/types.js';
import type { RoleMapper } from '../roles/types.js';
import { netboxUsername } from './username.js';

export interface SignInAttempt {
  readonly username: string;
  readonly password: string;
  readonly clientAddress: string;
}

/** Each outcome the login page shows differently. Wrong password and unknown user are one: `rejected`. */
export type SignInResult =
  | {
      readonly kind: 'signed-in';
      readonly user: NetboxUser;
      readonly netboxCookies: NetboxCookieJar;
      readonly authServer: string;
    }
  | { readonly kind: 'rejected' }
  /** The server wants another step; the caller keeps `challenge` and asks the user its prompt. */
  | { readonly kind: 'challenge'; readonly challenge: PendingChallenge }
  /** The password was right, the AAA server refused NetBox to this user; its message, if any, goes along. */
  | { readonly kind: 'not-authorized'; readonly message: string | undefined }
  | { readonly kind: 'invalid-input'; readonly message: string }
  | { readonly kind: 'aaa-unavailable' }
  | { readonly kind: 'not-allowed' }
  /** The password was right, but no role rule matched and REQUIRE_ROLE is on. */
  | { readonly kind: 'no-role' }
  | { readonly kind: 'netbox-unavailable' };

export interface ProfileAttributeNames {
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly email: string | undefined;
}

/** The one sign-in use case: AAA decides, roles become groups, NetBox is brought in line, a web session opens. */
export class SignIn {
  constructor(
    private readonly deps: {
      readonly authenticator: Authenticator;
      readonly roles: RoleMapper;
      readonly provisioner: Provisioner;
      readonly webSessions: WebSessionOpener;
      readonly profileAttributes: ProfileAttributeNames;
      readonly usernameRules: UsernameRules;
      readonly logger: Logger;
    },
  ) {}

  /**
   * The first step: user name and password. The AAA server gets the name as typed; NetBox gets it normalised,
   * and a name NetBox cannot store is refused before any AAA server is asked (and counts no failed attempt).
   */
  async run(attempt: SignInAttempt): Promise<SignInResult> {
    return this.#conclude(attempt, () => this.deps.authenticator.authenticate(attempt));
  }

  /** A later step: the user's answer (`password`) to the challenge the server issued. */
  async answer(attempt: SignInAttempt & { readonly challenge: PendingChallenge }): Promise<SignInResult> {
    return this.#conclude(attempt, () => this.deps.authenticator.respond(attempt));
  }

  async #conclude(attempt: SignInAttempt, ask: () => Promise<AuthOutcome>): Promise<SignInResult> {
    const username = netboxUsername(attempt.username, this.deps.usernameRules);
    if (!username.ok) return { kind: 'invalid-input', message: `${username.problem}.` };
    const unusable = this.deps.webSessions.usernameProblem(username.name);
    if (unusable !== undefined) return { kind: 'invalid-input', message: `${unusable}.` };
    const log = this.deps.logger.child({ username: attempt.username, client: attempt.clientAddress });
    let outcome;
    try {
      outcome = await ask();
    } catch (error) {
      if (error instanceof InvalidCredentials) return { kind: 'invalid-input', message: error.message };
      throw error;
    }
    switch (outcome.kind) {
      case 'reject':
        log.info({ server: outcome.server, stage: outcome.stage ?? 'authentication' }, 'login rejected by AAA');
        return outcome.stage === 'authorization' ? { kind: 'not-authorized', message: outcome.message } : { kind: 'rejected' };
      case 'unavailable':
        log.error(
          { failures: outcome.failures.map((f) => ({ server: f.server, reason: f.error.reason, error: f.error.message })) },
          'no AAA server answered',
        );
        return { kind: 'aaa-unavailable' };
      case 'challenge':
        log.info({ server: outcome.server }, 'AAA server asked for another step');
        return { kind: 'challenge', challenge: outcome.challenge };
      case 'accept':
        return this.#admit(username.name, outcome.server, outcome.attributes, log);
    }
  }

  async #admit(username: string, server: string, attributes: AttributeBag, log: Logger): Promise<SignInResult> {
    const decision = this.deps.roles.map(attributes);
    log.debug({ server, netboxUsername: username, attributes: attributes.toJSON(), explanation: decision.explanation }, 'role mapping');
    if (decision.denied) {
      log.warn({ server, explanation: decision.explanation }, 'AAA accepted the user but no role rule matched; REQUIRE_ROLE refuses the login');
      return { kind: 'no-role' };
    }
    try {
      const user = await this.deps.provisioner.provision({
        username,
        groups: decision.groups,
        profile: this.#profile(attributes),
        superuser: decision.superuser,
        staff: decision.staff,
      });
      const netboxCookies = await this.deps.webSessions.open(user);
      log.info({ server, netboxUserId: user.id, groups: user.groups }, 'login accepted');
      return { kind: 'signed-in', user, netboxCookies, authServer: server };
    } catch (error) {
      if (error instanceof UserNotAllowed) {
        log.warn({ server }, 'AAA accepted a user that does not exist in NetBox and AUTO_CREATE_USER is false');
        return { kind: 'not-allowed' };
      }
      if (error instanceof NetboxUnavailable) {
        log.error({ status: error.status, error: error.message }, 'NetBox unavailable during login');
        return { kind: 'netbox-unavailable' };
      }
      throw error;
    }
  }

  #profile(attributes: AttributeBag): UserProfile {
    const names = this.deps.profileAttributes;
    const pick = (name: string | undefined) => (name === undefined ? undefined : attributes.first(name)?.trim() || undefined);
    return { firstName: pick(names.firstName), lastName: pick(names.lastName), email: pick(names.email) };
  }
}
