import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OBJECT_TYPES, objectTypeName, type DoubleObjectType } from './object-types.js';

/**
 * The NetBox releases whose differences matter to the gateway (see /work/shared/netbox/README.md). '4.3' plays
 * 4.0–4.3 where they differ from 4.4: object types only at /api/extras/object-types/.
 */
export type NetboxVersion = '4.3' | '4.4' | '4.6.0' | '4.6.8';

/** NetBox's REMOTE_AUTH_* settings, with header names as HTTP headers ('HTTP_REMOTE_USER' is `Remote-User`). */
export interface RemoteAuthOptions {
  readonly enabled: boolean;
  /** REMOTE_AUTH_HEADER. */
  readonly header: string;
  readonly autoCreateUser: boolean;
  readonly autoCreateGroups: boolean;
  readonly groupSyncEnabled: boolean;
  /** REMOTE_AUTH_GROUP_HEADER. */
  readonly groupHeader: string;
  readonly groupSeparator: string;
  readonly superuserGroups: readonly string[];
  readonly superusers: readonly string[];
  /** REMOTE_AUTH_STAFF_GROUPS / _USERS: NetBox 4.4 and older only. */
  readonly staffGroups: readonly string[];
  readonly staffUsers: readonly string[];
  /** Given to users it creates, when group sync is off. */
  readonly defaultGroups: readonly string[];
}

export interface DoubleUser {
  readonly id: number;
  username: string;
  /** `sha256$<salt>$<hex>`, or '' for an unusable password (no form login possible). */
  passwordHash: string;
  /**
   * Stands in for Django's session auth hash (derived from the password hash): every password change bumps it,
   * and a session whose recorded generation differs is flushed on its next request.
   */
  passwordGeneration: number;
  firstName: string;
  lastName: string;
  email: string;
  isActive: boolean;
  /** Only visible over REST on 4.4. */
  isStaff: boolean;
  /** Never visible or settable over REST, in any version. */
  isSuperuser: boolean;
  /** Django permission names (`users.add_user`...), a stand-in for NetBox's ObjectPermissions. */
  readonly permissions: Set<string>;
  readonly groupIds: Set<number>;
  readonly dateJoined: Date;
  lastLogin: Date | null;
}

export interface DoubleGroup {
  readonly id: number;
  name: string;
  description: string;
}

/** NetBox's ObjectPermission. */
export interface DoublePermission {
  readonly id: number;
  name: string;
  description: string;
  enabled: boolean;
  /** `app_label.model` names. */
  readonly objectTypes: Set<string>;
  actions: string[];
  constraints: unknown;
  readonly groupIds: Set<number>;
  readonly userIds: Set<number>;
}

export interface NewPermission {
  readonly name: string;
  readonly description?: string;
  readonly enabled?: boolean;
  readonly objectTypes: readonly string[];
  readonly actions: readonly string[];
  readonly constraints?: unknown;
  /** Group names; missing groups are created. */
  readonly groups?: readonly string[];
  readonly userIds?: readonly number[];
}

export interface DoubleToken {
  readonly id: number;
  readonly version: 1 | 2;
  readonly userId: number;
  /** v1: the plaintext (NetBox stores v1 tokens in plaintext). v2: HMAC-SHA256(pepper, secret) in hex. */
  readonly stored: string;
  /** v2 identification key (12 chars), null for v1. */
  readonly key: string | null;
  description: string;
  readonly created: Date;
  expires: Date | null;
  lastUsed: Date | null;
  enabled: boolean;
  writeEnabled: boolean;
  allowedIps: string[];
}

export interface DoubleSession {
  readonly key: string;
  readonly userId: number;
  readonly passwordGeneration: number;
  readonly created: Date;
  readonly backend: 'password' | 'remote-user' | 'test';
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly path: string;
  /** Lower-cased header names, as Node received them (repeated headers joined by Node's rules). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly at: Date;
  /** The body as UTF-8 text, once read (not for the test-only endpoints, which stream it). */
  body?: string;
}

/**
 * - `none`: normal operation.
 * - `unavailable`: every request gets 503 (NetBox down behind its own proxy).
 * - `hang`: requests are accepted and never answered (until the double closes).
 * - `users-post`: only `POST /api/users/users/` fails, with NetBox's 500 JSON error.
 */
export type FailureMode = 'none' | 'unavailable' | 'hang' | 'users-post';

export interface NewUser {
  readonly username: string;
  readonly password?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly email?: string;
  readonly isActive?: boolean;
  readonly isSuperuser?: boolean;
  readonly isStaff?: boolean;
  readonly permissions?: readonly string[];
  /** Group names; missing groups are created. */
  readonly groups?: readonly string[];
}

export interface NewToken {
  readonly userId: number;
  readonly version: 1 | 2;
  /** v1: the 40-char token; v2: the secret part. Generated when absent. */
  readonly secret?: string;
  readonly description?: string;
  readonly expires?: Date | null;
  readonly enabled?: boolean;
  readonly writeEnabled?: boolean;
  readonly allowedIps?: readonly string[];
}

export interface IssuedToken {
  readonly token: DoubleToken;
  /** What a client configures: the 40-char v1 token, or `nbt_<key>.<secret>` for v2. */
  readonly value: string;
  /** The complete Authorization header value. */
  readonly authorization: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALNUM[byte % ALNUM.length];
  return out;
}

export const SERVICE_USERNAME = 'gateway-service';

/** Everything the double knows, inspectable and changeable by tests. */
export class DoubleState {
  readonly users = new Map<number, DoubleUser>();
  readonly groups = new Map<number, DoubleGroup>();
  readonly permissions = new Map<number, DoublePermission>();
  readonly objectTypes: readonly DoubleObjectType[] = OBJECT_TYPES;
  readonly tokens = new Map<number, DoubleToken>();
  readonly sessions = new Map<string, DoubleSession>();
  readonly requests: RecordedRequest[] = [];
  /** Each upload to /__double__/body as it ended: whole (the client finished it) or cut off. */
  readonly uploads: { readonly bytes: number; readonly complete: boolean }[] = [];
  /** NetBox's API_TOKEN_PEPPERS: without one, v2 tokens cannot be created over REST (400). */
  peppersConfigured = true;
  private failureMode: FailureMode = 'none';
  private nextUserId = 1;
  private nextGroupId = 1;
  private nextPermissionId = 1;
  private nextTokenId = 1;
  private readonly pepper = randomBytes(32);

  constructor(
    readonly version: NetboxVersion,
    readonly remoteAuth: RemoteAuthOptions,
    /** NetBox's MAX_PAGE_SIZE: the most a list answers with, whatever `limit` asks for. */
    readonly maxPageSize = 1000,
  ) {}

  get failure(): FailureMode {
    return this.failureMode;
  }

  fail(mode: FailureMode): void {
    this.failureMode = mode;
  }

  /** 4.5+ behaviours (v2 tokens, 404 for unsafe methods without trailing slash, no is_staff). */
  get modern(): boolean {
    return this.version !== '4.3' && this.version !== '4.4';
  }

  /** The object types endpoints this release has, under /api/: extras (up to 4.4), core (from 4.4). */
  get objectTypesPaths(): ReadonlyArray<'extras' | 'core'> {
    if (this.version === '4.3') return ['extras'];
    return this.version === '4.4' ? ['extras', 'core'] : ['core'];
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Requests whose path starts with `prefix` (e.g. '/api/users/users/'). */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  // Users

  /** Like `manage.py createsuperuser`: bypasses the REST validators, but keeps names unique ignoring case. */
  addUser(input: NewUser): DoubleUser {
    if (this.findUser(input.username)) throw new Error(`double: user ${input.username} exists (ignoring case)`);
    const user = this.insertUser(input.username);
    if (input.password !== undefined) this.setPassword(user.id, input.password);
    user.firstName = input.firstName ?? '';
    user.lastName = input.lastName ?? '';
    user.email = input.email ?? '';
    user.isActive = input.isActive ?? true;
    user.isSuperuser = input.isSuperuser ?? false;
    user.isStaff = input.isStaff ?? false;
    for (const perm of input.permissions ?? []) user.permissions.add(perm);
    for (const name of input.groups ?? []) user.groupIds.add((this.groupByName(name) ?? this.addGroup(name)).id);
    return user;
  }

  /** A bare user row (what the REST create and remote-user auto-create start from). */
  insertUser(username: string): DoubleUser {
    const user: DoubleUser = {
      id: this.nextUserId++,
      username,
      passwordHash: '',
      passwordGeneration: 0,
      firstName: '',
      lastName: '',
      email: '',
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      permissions: new Set(),
      groupIds: new Set(),
      dateJoined: new Date(),
      lastLogin: null,
    };
    this.users.set(user.id, user);
    return user;
  }

  deleteUser(id: number): void {
    this.users.delete(id);
    for (const [key, session] of this.sessions) if (session.userId === id) this.sessions.delete(key);
    for (const [tid, token] of this.tokens) if (token.userId === id) this.tokens.delete(tid);
    for (const permission of this.permissions.values()) permission.userIds.delete(id);
  }

  user(id: number): DoubleUser | undefined {
    return this.users.get(id);
  }

  /** Case-insensitive, like NetBox's uniqueness rule and `?username__ie=`. */
  findUser(username: string): DoubleUser | undefined {
    const wanted = username.toLowerCase();
    return [...this.users.values()].find((u) => u.username.toLowerCase() === wanted);
  }

  /** Case-sensitive, like Django's ModelBackend and RemoteUserBackend lookups. */
  userByExactName(username: string): DoubleUser | undefined {
    return [...this.users.values()].find((u) => u.username === username);
  }

  groupNamesOf(user: DoubleUser): string[] {
    return this.groupsOf(user).map((g) => g.name);
  }

  groupsOf(user: DoubleUser): DoubleGroup[] {
    return [...user.groupIds]
      .map((id) => this.groups.get(id))
      .filter((g): g is DoubleGroup => g !== undefined)
      .sort((a, b) => compareText(a.name, b.name));
  }

  /** Changing a password ends every web session of that user (Django's session auth hash). */
  setPassword(userId: number, password: string): void {
    const user = this.mustUser(userId);
    const salt = randomBytes(8).toString('hex');
    user.passwordHash = `sha256$${salt}$${createHash('sha256').update(salt + password).digest('hex')}`;
    user.passwordGeneration += 1;
  }

  checkPassword(user: DoubleUser, password: string): boolean {
    const [algorithm, salt, digest] = user.passwordHash.split('$');
    if (algorithm !== 'sha256' || salt === undefined || digest === undefined) return false;
    const candidate = createHash('sha256').update(salt + password).digest();
    return timingSafeEqual(candidate, Buffer.from(digest, 'hex'));
  }

  // Groups

  addGroup(name: string, description = ''): DoubleGroup {
    if (this.groupByName(name)) throw new Error(`double: group ${name} exists`);
    const group: DoubleGroup = { id: this.nextGroupId++, name, description };
    this.groups.set(group.id, group);
    return group;
  }

  /** Exact name: group names are unique case-sensitively in NetBox. */
  groupByName(name: string): DoubleGroup | undefined {
    return [...this.groups.values()].find((g) => g.name === name);
  }

  deleteGroup(id: number): void {
    this.groups.delete(id);
    for (const user of this.users.values()) user.groupIds.delete(id);
    for (const permission of this.permissions.values()) permission.groupIds.delete(id);
  }

  // Object types and ObjectPermissions

  objectType(name: string): DoubleObjectType | undefined {
    return this.objectTypes.find((type) => objectTypeName(type) === name);
  }

  /** Like creating one in NetBox's UI: bypasses REST validation, creates missing groups. */
  addPermission(input: NewPermission): DoublePermission {
    for (const name of input.objectTypes) if (!this.objectType(name)) throw new Error(`double: no object type ${name}`);
    const permission = this.insertPermission(input.name);
    permission.description = input.description ?? '';
    permission.enabled = input.enabled ?? true;
    for (const name of input.objectTypes) permission.objectTypes.add(name);
    permission.actions = [...input.actions];
    permission.constraints = input.constraints ?? null;
    for (const name of input.groups ?? []) permission.groupIds.add((this.groupByName(name) ?? this.addGroup(name)).id);
    for (const id of input.userIds ?? []) permission.userIds.add(this.mustUser(id).id);
    return permission;
  }

  insertPermission(name: string): DoublePermission {
    const permission: DoublePermission = {
      id: this.nextPermissionId++,
      name,
      description: '',
      enabled: true,
      objectTypes: new Set(),
      actions: [],
      constraints: null,
      groupIds: new Set(),
      userIds: new Set(),
    };
    this.permissions.set(permission.id, permission);
    return permission;
  }

  /** Names are not unique in NetBox. */
  permissionsNamed(name: string): DoublePermission[] {
    return [...this.permissions.values()].filter((p) => p.name === name);
  }

  /** NetBox's ObjectPermissionBackend.has_perm() without constraints: superuser, or a permission naming it. */
  hasPerm(user: DoubleUser, permission: string): boolean {
    if (!user.isActive) return false;
    if (user.isSuperuser || user.permissions.has(permission)) return true;
    return [...this.permissions.values()].some(
      (p) =>
        p.enabled &&
        (p.userIds.has(user.id) || [...p.groupIds].some((id) => user.groupIds.has(id))) &&
        [...p.objectTypes].some((type) => {
          const [app, model] = type.split('.');
          return p.actions.some((action) => `${app}.${action}_${model}` === permission);
        }),
    );
  }

  userCountOf(groupId: number): number {
    return [...this.users.values()].filter((u) => u.groupIds.has(groupId)).length;
  }

  // Tokens

  addToken(input: NewToken): IssuedToken {
    this.mustUser(input.userId);
    const secret = input.secret ?? randomAlnum(40);
    const key = input.version === 2 ? randomAlnum(12) : null;
    const token: DoubleToken = {
      id: this.nextTokenId++,
      version: input.version,
      userId: input.userId,
      stored: input.version === 2 ? this.digest(secret) : secret,
      key,
      description: input.description ?? '',
      created: new Date(),
      expires: input.expires ?? null,
      lastUsed: null,
      enabled: input.enabled ?? true,
      writeEnabled: input.writeEnabled ?? true,
      allowedIps: [...(input.allowedIps ?? [])],
    };
    this.tokens.set(token.id, token);
    const value = key === null ? secret : `nbt_${key}.${secret}`;
    return { token, value, authorization: key === null ? `Token ${value}` : `Bearer ${value}` };
  }

  /** A superuser (`gateway-service`) with a token: what the gateway's NETBOX_TOKEN is in tests. */
  addServiceToken(version: 1 | 2 = 1): IssuedToken {
    if (version === 2 && !this.modern) throw new Error('double: v2 tokens need NetBox 4.5+');
    const user = this.userByExactName(SERVICE_USERNAME) ?? this.addUser({ username: SERVICE_USERNAME, isSuperuser: true });
    return this.addToken({ userId: user.id, version });
  }

  findV1Token(plaintext: string): DoubleToken | undefined {
    return [...this.tokens.values()].find((t) => t.version === 1 && safeEqual(t.stored, plaintext));
  }

  findV2Token(key: string, secret: string): DoubleToken | undefined {
    const digest = this.digest(secret);
    return [...this.tokens.values()].find((t) => t.version === 2 && t.key === key && safeEqual(t.stored, digest));
  }

  // Sessions

  openSession(userId: number, backend: DoubleSession['backend']): DoubleSession {
    const user = this.mustUser(userId);
    const session: DoubleSession = {
      key: randomAlnum(32).toLowerCase(),
      userId,
      passwordGeneration: user.passwordGeneration,
      created: new Date(),
      backend,
    };
    this.sessions.set(session.key, session);
    return session;
  }

  sessionsOf(userId: number): DoubleSession[] {
    return [...this.sessions.values()].filter((s) => s.userId === userId);
  }

  /** The user a session cookie stands for, or undefined when Django would treat the request as anonymous. */
  sessionUser(key: string): DoubleUser | undefined {
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const user = this.users.get(session.userId);
    if (!user || !user.isActive || user.passwordGeneration !== session.passwordGeneration) return undefined;
    return user;
  }

  private digest(secret: string): string {
    return createHmac('sha256', this.pepper).update(secret).digest('hex');
  }

  private mustUser(id: number): DoubleUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`double: no user ${id}`);
    return user;
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
