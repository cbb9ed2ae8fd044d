import type { Logger } from '../log.js';
import { NetboxValidationError, type NetboxApiGroup, type NetboxApiUser, type NetboxClient, type UserChanges } from './client.js';
import { KeyedLock } from './keyed-lock.js';
import {
  NetboxUnavailable,
  UserNotAllowed,
  type NetboxUser,
  type ProvisionRequest,
  type Provisioner,
  type UserProfile,
} from './types.js';

export interface RestProvisionerOptions {
  readonly client: NetboxClient;
  /** Create users NetBox does not know yet; when false such a login fails with UserNotAllowed. */
  readonly autoCreateUser: boolean;
  /** True: the user's groups become exactly the wanted ones. False: wanted groups are added, none removed. */
  readonly groupSync: boolean;
  /** The gateway-managed password, set only when the gateway creates the user. */
  readonly passwordFor: (username: string) => string;
  readonly logger: Logger;
}

const PROFILE_FIELDS = ['first_name', 'last_name', 'email'];

/** Brings a NetBox user and its groups in line with what the AAA server said, over NetBox's REST API. */
export class RestProvisioner implements Provisioner {
  // Concurrent logins of one user inside this process queue up here; other replicas are handled by treating
  // NetBox's "already exists" answers as "someone else just did it".
  readonly #lock = new KeyedLock();

  constructor(private readonly options: RestProvisionerOptions) {}

  provision(request: ProvisionRequest): Promise<NetboxUser> {
    return this.#lock.run(request.username.toLowerCase(), () => this.#provision(request));
  }

  async #provision(request: ProvisionRequest): Promise<NetboxUser> {
    const groups = await this.#ensureGroups([...new Set(request.groups)]);
    const existing = await this.#findUser(request.username);
    if (existing) return this.#update(existing, groups, request.profile);
    if (!this.options.autoCreateUser) throw new UserNotAllowed(request.username);
    try {
      return await this.#create(request.username, groups, request.profile);
    } catch (error) {
      if (!(error instanceof NetboxValidationError && error.alreadyExists)) throw error;
      const raced = await this.#findUser(request.username);
      if (!raced) throw error;
      this.options.logger.info({ username: request.username, netboxUserId: raced.id }, 'NetBox user was created concurrently; updating it');
      return this.#update(raced, groups, request.profile);
    }
  }

  async #ensureGroups(names: readonly string[]): Promise<NetboxApiGroup[]> {
    if (names.length === 0) return [];
    const byName = new Map((await this.options.client.findGroups(names)).map((g) => [g.name, g]));
    const created = await Promise.all(names.filter((name) => !byName.has(name)).map((name) => this.#createGroup(name)));
    for (const group of created) byName.set(group.name, group);
    return names.map((name) => {
      const group = byName.get(name);
      if (!group) throw new NetboxUnavailable(`NetBox group ${name} could neither be found nor created`);
      return group;
    });
  }

  async #createGroup(name: string): Promise<NetboxApiGroup> {
    try {
      const group = await this.options.client.createGroup(name);
      this.options.logger.info({ group: name, netboxGroupId: group.id }, 'created NetBox group');
      return group;
    } catch (error) {
      if (!(error instanceof NetboxValidationError && error.alreadyExists)) throw error;
      const [raced] = await this.options.client.findGroups([name]);
      if (!raced) throw error;
      return raced;
    }
  }

  async #findUser(username: string): Promise<NetboxApiUser | undefined> {
    const matches = await this.options.client.findUsers(username);
    if (matches.length <= 1) return matches[0];
    const exact = matches.find((user) => user.username === username);
    if (exact) return exact;
    // Picking one would log this person in as whichever account happened to come first.
    throw new NetboxUnavailable(
      `NetBox has ${matches.length} users named ${username} ignoring case (${matches.map((u) => u.username).join(', ')}); ` +
        'an administrator must merge or rename them',
    );
  }

  async #create(username: string, groups: readonly NetboxApiGroup[], profile: UserProfile): Promise<NetboxUser> {
    const created = await this.#withProfile(username, profile, (fields) =>
      // One POST: a failure leaves no user behind that lacks its groups or password.
      this.options.client.createUser({
        username,
        password: this.options.passwordFor(username),
        isActive: true,
        groupIds: groups.map((g) => g.id),
        ...fields,
      }),
    );
    this.options.logger.info({ username: created.username, netboxUserId: created.id, groups: groupNames(created) }, 'created NetBox user');
    return toNetboxUser(created);
  }

  async #update(user: NetboxApiUser, groups: readonly NetboxApiGroup[], profile: UserProfile): Promise<NetboxUser> {
    const current = user.groups.map((g) => g.id);
    const wanted = groups.map((g) => g.id);
    const groupIds = this.options.groupSync ? wanted : [...new Set([...current, ...wanted])];
    const fields = profileFields(profile);
    const unchanged =
      user.isActive &&
      sameMembers(current, groupIds) &&
      (fields.firstName === undefined || fields.firstName === user.firstName) &&
      (fields.lastName === undefined || fields.lastName === user.lastName) &&
      (fields.email === undefined || normalizeEmail(fields.email) === user.email);
    // Every PATCH is a change-log entry in NetBox; a login that changes nothing should not write one.
    if (unchanged) return toNetboxUser(user);
    if (!user.isActive) this.options.logger.warn({ username: user.username, netboxUserId: user.id }, 'reactivating NetBox user the AAA server accepted');
    const updated = await this.#withProfile(user.username, profile, (changes) =>
      // Never the password: another browser of this user may hold a NetBox session a password change would end.
      this.options.client.updateUser(user.id, { isActive: true, groupIds, ...changes }),
    );
    this.options.logger.info({ username: updated.username, netboxUserId: updated.id, groups: groupNames(updated) }, 'updated NetBox user');
    return toNetboxUser(updated);
  }

  /**
   * Writes with the profile fields the AAA server sent; if NetBox refuses only those (say, an e-mail address it
   * does not accept), writes again without them: a bad profile attribute must not lock the user out.
   */
  async #withProfile(
    username: string,
    profile: UserProfile,
    write: (fields: UserChanges) => Promise<NetboxApiUser>,
  ): Promise<NetboxApiUser> {
    const fields = profileFields(profile);
    try {
      return await write(fields);
    } catch (error) {
      if (!(error instanceof NetboxValidationError && error.onlyConcerns(PROFILE_FIELDS))) throw error;
      this.options.logger.warn({ username, errors: error.errors }, 'NetBox refused profile attributes; saving the user without them');
      return write({});
    }
  }
}

/** Only what the AAA server actually sent: an absent or empty attribute never blanks what NetBox has. */
function profileFields(profile: UserProfile): UserChanges {
  return {
    ...(profile.firstName ? { firstName: profile.firstName } : {}),
    ...(profile.lastName ? { lastName: profile.lastName } : {}),
    ...(profile.email ? { email: profile.email } : {}),
  };
}

/** Django's normalize_email(), which NetBox applies on save: the domain part is lower-cased. */
function normalizeEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? email : email.slice(0, at) + email.slice(at).toLowerCase();
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((id) => right.has(id));
}

function groupNames(user: NetboxApiUser): string[] {
  return user.groups.map((g) => g.name);
}

function toNetboxUser(user: NetboxApiUser): NetboxUser {
  return { id: user.id, username: user.username, groups: groupNames(user) };
}
