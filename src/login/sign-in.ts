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
import type { RoleMapper } from '../roles/types.js';

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
  | { readonly kind: 'netbox-unavailable' };

export interface ProfileAttributeNames {
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly email: string | undefined;
}

/** NetBox's username rule; AAA servers accept names NetBox cannot store, so refuse those before asking AAA. */
const NETBOX_USERNAME = /^[\p{L}\p{N}_.@+-]{1,150}$/u;

/** The one sign-in use case: AAA decides, roles become groups, NetBox is brought in line, a web session opens. */
export class SignIn {
  constructor(
    private readonly deps: {
      readonly authenticator: Authenticator;
      readonly roles: RoleMapper;
      readonly provisioner: Provisioner;
      readonly webSessions: WebSessionOpener;
      readonly profileAttributes: ProfileAttributeNames;
      readonly logger: Logger;
    },
  ) {}

  /** The first step: user name and password. */
  async run(attempt: SignInAttempt): Promise<SignInResult> {
    if (!NETBOX_USERNAME.test(attempt.username)) {
      return { kind: 'invalid-input', message: 'User names may contain letters, digits and . @ + - _ only.' };
    }
    return this.#conclude(attempt, () => this.deps.authenticator.authenticate(attempt));
  }

  /** A later step: the user's answer (`password`) to the challenge the server issued. */
  async answer(attempt: SignInAttempt & { readonly challenge: PendingChallenge }): Promise<SignInResult> {
    return this.#conclude(attempt, () => this.deps.authenticator.respond(attempt));
  }

  async #conclude(attempt: SignInAttempt, ask: () => Promise<AuthOutcome>): Promise<SignInResult> {
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
        return this.#admit(attempt.username, outcome.server, outcome.attributes, log);
    }
  }

  async #admit(username: string, server: string, attributes: AttributeBag, log: Logger): Promise<SignInResult> {
    const { groups } = this.deps.roles.map(attributes);
    try {
      const user = await this.deps.provisioner.provision({ username, groups, profile: this.#profile(attributes) });
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
