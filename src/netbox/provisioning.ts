import type { Logger } from '../log.js';
import { NetboxValidationError, type NetboxApiGroup, type NetboxApiUser, type NetboxClient, type UserChanges } from './client.js';
import { managedSync, type GroupGrantStore } from './group-grants.js';
import { ensureGroups } from './groups.js';
import { KeyedLock } from './keyed-lock.js';
import { SuperuserPermission } from './superuser-permission.js';
import {
  NetboxUnavailable,
  UserNotAllowed,
  type GroupSyncMode,
  type NetboxUser,
  type ProvisionRequest,
  type Provisioner,
  type UserProfile,
} from './types.js';
import type { NetboxVersion } from './version.js';

export interface RestProvisionerOptions {
  readonly client: NetboxClient;
  /** Create users NetBox does not know yet; when false such a login fails with UserNotAllowed. */
  readonly autoCreateUser: boolean;
  /** How the user's existing groups meet the wanted ones (see GroupSyncMode). */
  readonly syncMode: GroupSyncMode;
  /**
   * Whether the role rules or defaults can produce `group`: in `managed` mode, what counts as the gateway's among the
   * groups of a user it has no record for (see group-grants.ts).
   */
  readonly manages: (group: string) => boolean;
  /** In `managed` mode, which groups the gateway granted each user. */
  readonly grants: GroupGrantStore;
  /**
   * Runs one user's provisioning alone across every gateway sharing the state (Redis): two replicas signing one user
   * in at once must not interleave their group changes and records. Absent: this process's own queue is enough.
   */
  readonly acrossReplicas?: <T>(key: string, work: () => Promise<T>) => Promise<T>;
  /** SUPERUSER_GROUPS: what the gateway-managed superuser ObjectPermission is bound to. */
  readonly superuserGroups: readonly string[];
  /** Password mode with superuser groups: keep the superuser ObjectPermission in place (see superuser-permission.ts). */
  readonly grantSuperuserPermission: boolean;
  /** How long one check of that permission holds before a superuser's login checks again. Default 5 minutes. */
  readonly superuserPermissionCheckIntervalMs?: number;
  /**
   * Staff groups are configured: `is_staff` follows ProvisionRequest.staff on NetBox 4.4 and older (only ever
   * raised in `add` mode). When false the gateway never touches `is_staff`.
   */
  readonly manageStaff: boolean;
  /** The gateway-managed password, set only when the gateway creates the user. */
  readonly passwordFor: (username: string) => string;
  readonly logger: Logger;
}

const PROFILE_FIELDS = ['first_name', 'last_name', 'email'];
const DEFAULT_PERMISSION_CHECK_INTERVAL_MS = 5 * 60_000;

/** Brings a NetBox user and its groups in line with what the AAA server said, over NetBox's REST API. */
export class RestProvisioner implements Provisioner {
  // Concurrent logins of one user inside this process queue up here, and across replicas under `acrossReplicas`;
  // NetBox's "already exists" answers are taken as "someone else just did it" all the same.
  readonly #lock = new KeyedLock();
  readonly #superuserPermission: SuperuserPermission | undefined;
  #warnedStaffIgnored = false;

  constructor(private readonly options: RestProvisionerOptions) {
    this.#superuserPermission = options.grantSuperuserPermission
      ? new SuperuserPermission({
          client: options.client,
          groups: options.superuserGroups,
          checkIntervalMs: options.superuserPermissionCheckIntervalMs ?? DEFAULT_PERMISSION_CHECK_INTERVAL_MS,
          logger: options.logger,
        })
      : undefined;
  }

  provision(request: ProvisionRequest): Promise<NetboxUser> {
    const key = request.username.toLowerCase();
    const { acrossReplicas } = this.options;
    return this.#lock.run(key, () => (acrossReplicas ? acrossReplicas(key, () => this.#provision(request)) : this.#provision(request)));
  }

  async #provision(request: ProvisionRequest): Promise<NetboxUser> {
    const version = await this.options.client.version();
    const isStaff = this.#staffFlag(request, version);
    const groups = await ensureGroups(this.options.client, [...new Set(request.groups)], this.options.logger);
    const user = await this.#createOrUpdate(request, groups, isStaff);
    if (request.superuser) await this.#ensureSuperuserPermission(request.username);
    return user;
  }

  async #createOrUpdate(request: ProvisionRequest, groups: readonly NetboxApiGroup[], isStaff: boolean | undefined): Promise<NetboxUser> {
    const existing = await this.#findUser(request.username);
    if (existing) return this.#update(existing, groups, request.profile, isStaff);
    if (!this.options.autoCreateUser) throw new UserNotAllowed(request.username);
    try {
      return await this.#create(request.username, groups, request.profile, isStaff);
    } catch (error) {
      if (!(error instanceof NetboxValidationError && error.alreadyExists)) throw error;
      const raced = await this.#findUser(request.username);
      if (!raced) throw error;
      this.options.logger.info({ username: request.username, netboxUserId: raced.id }, 'NetBox user was created concurrently; updating it');
      return this.#update(raced, groups, request.profile, isStaff);
    }
  }

  /** What `is_staff` should become, or undefined to leave it alone (or because this NetBox has no such flag). */
  #staffFlag(request: ProvisionRequest, version: NetboxVersion): boolean | undefined {
    if (!version.hasStaffFlag) {
      if (request.staff && !this.#warnedStaffIgnored) {
        this.#warnedStaffIgnored = true;
        this.options.logger.warn(
          { username: request.username, netboxVersion: version.text },
          'staff groups are ignored: NetBox 4.5 and later have no is_staff (superusers alone reach the System pages)',
        );
      }
      return undefined;
    }
    return this.options.manageStaff ? request.staff : undefined;
  }

  /**
   * A failure here is logged, not thrown: the user still gets in with what the groups grant, and the next
   * superuser login tries again. Refusing every superuser while NetBox refuses the permission would lock out
   * exactly the people who can fix it.
   */
  async #ensureSuperuserPermission(username: string): Promise<void> {
    if (!this.#superuserPermission) return;
    try {
      await this.#superuserPermission.ensure();
    } catch (error) {
      if (!(error instanceof NetboxUnavailable)) throw error;
      this.options.logger.error(
        { username, status: error.status, error: error.message },
        'could not put the superuser ObjectPermission in place; this login gets only what its groups already grant',
      );
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

  async #create(username: string, groups: readonly NetboxApiGroup[], profile: UserProfile, isStaff: boolean | undefined): Promise<NetboxUser> {
    const created = await this.#withProfile(username, profile, (fields) =>
      // One POST: a failure leaves no user behind that lacks its groups or password.
      this.options.client.createUser({
        username,
        password: this.options.passwordFor(username),
        isActive: true,
        groupIds: groups.map((g) => g.id),
        ...(isStaff ? { isStaff } : {}),
        ...fields,
      }),
    );
    this.options.logger.info({ username: created.username, netboxUserId: created.id, groups: groupNames(created) }, 'created NetBox user');
    // Should this write fail, the user has no record, and the next login takes every group the rules can produce
    // for the gateway's: never one too few.
    if (this.options.syncMode === 'managed') await this.options.grants.set(created.id, groupNames(created));
    return toNetboxUser(created);
  }

  async #update(user: NetboxApiUser, groups: readonly NetboxApiGroup[], profile: UserProfile, isStaff: boolean | undefined): Promise<NetboxUser> {
    const current = user.groups.map((g) => g.id);
    const sync = await this.#syncedGroups(user, groups);
    const groupIds = sync.groups.map((g) => g.id);
    const staff = this.options.syncMode === 'add' && isStaff === false ? undefined : isStaff;
    const staffChange: Pick<UserChanges, 'isStaff'> = staff !== undefined && staff !== user.isStaff ? { isStaff: staff } : {};
    const fields = profileFields(profile);
    const unchanged =
      user.isActive &&
      sameMembers(current, groupIds) &&
      staffChange.isStaff === undefined &&
      (fields.firstName === undefined || fields.firstName === user.firstName) &&
      (fields.lastName === undefined || fields.lastName === user.lastName) &&
      (fields.email === undefined || normalizeEmail(fields.email) === user.email);
    // Every PATCH is a change-log entry in NetBox; a login that changes nothing should not write one.
    if (unchanged) {
      await sync.record?.after();
      return toNetboxUser(user);
    }
    await sync.record?.before();
    if (!user.isActive) this.options.logger.warn({ username: user.username, netboxUserId: user.id }, 'reactivating NetBox user the AAA server accepted');
    const updated = await this.#withProfile(user.username, profile, (changes) =>
      // Never the password: another browser of this user may hold a NetBox session a password change would end.
      this.options.client.updateUser(user.id, { isActive: true, groupIds, ...staffChange, ...changes }),
    );
    await sync.record?.after();
    const before = new Set(groupNames(user));
    const after = new Set(groupNames(updated));
    this.options.logger.info(
      {
        username: updated.username,
        netboxUserId: updated.id,
        groups: [...after],
        added: [...after].filter((name) => !before.has(name)),
        removed: [...before].filter((name) => !after.has(name)),
        ...staffChange,
      },
      'updated NetBox user',
    );
    return toNetboxUser(updated);
  }

  /**
   * The user's groups after this login, by the sync mode; in `managed` mode also the record of what the gateway
   * granted, written before the change (claiming what it owns before or after) and after it.
   */
  async #syncedGroups(
    user: NetboxApiUser,
    wanted: readonly NetboxApiGroup[],
  ): Promise<{ groups: NetboxApiGroup[]; record?: { before: () => Promise<void>; after: () => Promise<void> } }> {
    switch (this.options.syncMode) {
      case 'replace':
        return { groups: [...wanted] };
      case 'add':
        return { groups: unionById(user.groups, wanted) };
      case 'managed': {
        const { grants } = this.options;
        const recorded = await grants.get(user.id);
        const sync = managedSync(groupNames(user), wanted.map((group) => group.name), recorded, this.options.manages);
        const byName = new Map([...user.groups, ...wanted].map((group) => [group.name, group]));
        const groups = sync.groups.map((name) => byName.get(name)).filter((group): group is NetboxApiGroup => group !== undefined);
        const after = async () => {
          if (recorded === undefined || !sameMembers(recorded, sync.granted)) await grants.set(user.id, sync.granted);
        };
        return { groups, record: { before: () => grants.set(user.id, sync.grantedMeanwhile), after } };
      }
    }
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

function unionById(a: readonly NetboxApiGroup[], b: readonly NetboxApiGroup[]): NetboxApiGroup[] {
  const byId = new Map([...a, ...b].map((group) => [group.id, group]));
  return [...byId.values()];
}

function sameMembers<T>(a: readonly T[], b: readonly T[]): boolean {
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
