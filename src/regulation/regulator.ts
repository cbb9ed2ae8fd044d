import type { RegulationConfig, UsernameRules } from '../config/types.js';
import type { Logger } from '../log.js';
import { addressSubject, userSubject } from './subjects.js';
import type { LoginSubjects, RegulationStore, RegulationVerdict, SubjectKind } from './types.js';

interface Counted {
  readonly kind: SubjectKind;
  readonly value: string;
  readonly key: string;
  readonly limit: number;
}

/**
 * Brute-force throttling of sign-ins, as Authelia does it: `maxRetries` failures of one user name (or
 * `maxRetriesPerAddress` of one client address) within the find time ban it for the ban time. A banned attempt
 * never reaches an AAA server, so it can neither guess nor lock the account out there.
 */
export class LoginRegulation {
  readonly #now: () => number;

  constructor(
    private readonly deps: {
      readonly store: RegulationStore;
      readonly settings: RegulationConfig;
      readonly usernameRules: UsernameRules;
      readonly logger: Logger;
      readonly now?: () => number;
    },
  ) {
    this.#now = deps.now ?? Date.now;
  }

  /** What an attempt with this typed user name from this client address (express's `req.ip`) is counted against. */
  subjects(typedUsername: string, clientAddress: string): LoginSubjects {
    return { user: userSubject(typedUsername, this.deps.usernameRules), address: addressSubject(clientAddress) };
  }

  /** Whether the attempt may go to the AAA server; a ban of the user or of the address refuses it alike. */
  async check(subjects: LoginSubjects): Promise<RegulationVerdict> {
    const now = this.#now();
    const ends = await Promise.all(this.#counted(subjects).map((counted) => this.deps.store.bannedUntil(counted.key, now)));
    const until = Math.max(...ends.filter((end) => end !== undefined));
    if (until === -Infinity) return { kind: 'allowed' };
    return { kind: 'banned', until, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
  }

  /**
   * The AAA server rejected the attempt (wrong password, unknown user, wrong challenge answer). The failure that
   * reaches a limit starts the ban; the attempts after it are refused by `check`.
   */
  async failed(subjects: LoginSubjects): Promise<void> {
    const { store, settings, logger } = this.deps;
    const now = this.#now();
    for (const counted of this.#counted(subjects)) {
      const failures = await store.addFailure(counted.key, now, settings.findTimeMs);
      if (failures < counted.limit) continue;
      const until = now + settings.banTimeMs;
      if (await store.ban(counted.key, until, now)) {
        const who = counted.kind === 'user' ? { username: counted.value } : { address: counted.value };
        logger.warn({ subject: counted.kind, ...who, failures, until: new Date(until).toISOString() }, 'too many failed sign-ins: banned');
      }
    }
  }

  /**
   * A sign-in succeeded: the user's failures are forgotten. The address's are not, or an attacker with an
   * account of his own could sign into it between guesses at other people's passwords.
   */
  async succeeded(subjects: LoginSubjects): Promise<void> {
    const user = this.#counted(subjects).find((counted) => counted.kind === 'user');
    if (user) await this.deps.store.clearFailures(user.key);
  }

  #counted(subjects: LoginSubjects): Counted[] {
    const { maxRetries, maxRetriesPerAddress } = this.deps.settings;
    if (maxRetries === 0) return [];
    const counted: Counted[] = [];
    if (subjects.user !== undefined) counted.push({ kind: 'user', value: subjects.user, key: `user:${subjects.user}`, limit: maxRetries });
    if (subjects.address !== undefined && maxRetriesPerAddress > 0) {
      counted.push({ kind: 'address', value: subjects.address, key: `address:${subjects.address}`, limit: maxRetriesPerAddress });
    }
    return counted;
  }
}
