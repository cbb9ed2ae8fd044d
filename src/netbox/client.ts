import type { Logger } from '../log.js';
import { NetboxUnavailable } from './types.js';
import { NetboxVersion } from './version.js';

export interface NetboxClientOptions {
  /** NetBox's address, BASE_PATH included (e.g. `https://netbox.example.com/` or `http://netbox:8080/netbox/`). */
  readonly baseUrl: URL;
  /** The bare service token: a 40-char v1 token, or a v2 token `nbt_<key>.<secret>`. */
  readonly token: string;
  /** Per request, connection and body included. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export interface NetboxApiGroup {
  readonly id: number;
  readonly name: string;
}

export interface NetboxApiUser {
  readonly id: number;
  readonly username: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  readonly isActive: boolean;
  /** Undefined on NetBox 4.5+, which has no such flag. */
  readonly isStaff: boolean | undefined;
  readonly groups: readonly NetboxApiGroup[];
}

/** One entry of NetBox's object types list. */
export interface NetboxObjectType {
  /** `app_label.model`, the form ObjectPermission.object_types takes. */
  readonly name: string;
  readonly appLabel: string;
  readonly model: string;
  /** Whether NetBox counts the model as part of its public data model; undefined before 4.4, which does not say. */
  readonly public: boolean | undefined;
}

export interface NetboxApiPermission {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly enabled: boolean;
  /** `app_label.model` names. */
  readonly objectTypes: readonly string[];
  readonly actions: readonly string[];
  /** Whatever JSON NetBox holds; null when the permission applies to every object of its types. */
  readonly constraints: unknown;
  readonly groupIds: readonly number[];
  readonly userIds: readonly number[];
}

/** Fields of an ObjectPermission write; absent fields are not sent. */
export interface PermissionChanges {
  readonly name?: string;
  readonly description?: string;
  readonly enabled?: boolean;
  readonly objectTypes?: readonly string[];
  readonly actions?: readonly string[];
  /** Only ever cleared: the gateway's permission applies to every object. */
  readonly constraints?: null;
  readonly groupIds?: readonly number[];
  readonly userIds?: readonly number[];
}

export type NewPermissionFields = PermissionChanges & {
  readonly name: string;
  readonly objectTypes: readonly string[];
  readonly actions: readonly string[];
};

/** Fields of a user write; absent fields are not sent (a PATCH leaves them alone). */
export interface UserChanges {
  readonly username?: string;
  readonly password?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly email?: string;
  readonly isActive?: boolean;
  /** NetBox 4.4 and older only; 4.5+ has no such field. */
  readonly isStaff?: boolean;
  readonly groupIds?: readonly number[];
}

export type NewUserFields = UserChanges & { readonly username: string; readonly password: string };

/** A NetBox API token for another user, as POST /api/users/tokens/ takes it. */
export interface NewTokenFields {
  readonly userId: number;
  /** 2 on NetBox 4.5+ (needs API_TOKEN_PEPPERS there); 1 otherwise. Not sent to NetBox before 4.5, which has only v1. */
  readonly version: 1 | 2;
  /** The caller's own secret: `key` up to 4.4, `token` from 4.5 (40 letters and digits for v1). */
  readonly secret: string | undefined;
  readonly expires: Date;
  readonly writeEnabled: boolean;
  readonly allowedIps: readonly string[];
  readonly description: string;
}

export interface NetboxApiToken {
  readonly id: number;
  readonly userId: number | undefined;
  /** The v2 key (`nbt_<key>.<secret>`); undefined for v1. */
  readonly key: string | undefined;
  /** The plaintext, when NetBox returned it (4.6.1+, once). */
  readonly token: string | undefined;
  readonly version: 1 | 2;
  readonly expires: Date | undefined;
  readonly writeEnabled: boolean;
  readonly description: string;
  readonly lastUsed: Date | undefined;
}

/**
 * NetBox refused the data with 400 and field errors (DRF's `{"field": ["message", ...]}`). Still a
 * NetboxUnavailable, so a caller that does not look closer treats it as "NetBox could not be used".
 */
export class NetboxValidationError extends NetboxUnavailable {
  constructor(
    readonly request: string,
    readonly errors: Readonly<Record<string, readonly string[]>>,
  ) {
    const summary = Object.entries(errors)
      .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
      .join('; ');
    super(`NetBox ${request} refused the data: ${summary}`, 400);
    this.name = 'NetboxValidationError';
  }

  /**
   * A uniqueness refusal: "A user with that username already exists." (exact, on `username`), "A user with this
   * username already exists." (differs in case, on `__all__`), "group with this name already exists." (on `name`).
   * Errors not tied to one field come as `non_field_errors` up to 4.6 and as `__all__` from 4.7; both are read.
   */
  get alreadyExists(): boolean {
    return ['username', 'name', '__all__', 'non_field_errors'].some((field) =>
      (this.errors[field] ?? []).some((message) => /already exists/i.test(message)),
    );
  }

  /** True when every refused field is one of `fields`. */
  onlyConcerns(fields: readonly string[]): boolean {
    const refused = Object.keys(this.errors);
    return refused.length > 0 && refused.every((field) => fields.includes(field));
  }
}

const PAGE_LIMIT = 1000;
// Keeps the query string well below any proxy's URL limit, however many groups a user has.
const NAMES_PER_QUERY = 40;

/**
 * The slice of NetBox's REST API the gateway uses, with the service token. It knows which NetBox release it talks
 * to: read once, and read again after NetBox failed to answer (upgrades happen during outages).
 */
export class NetboxClient {
  readonly #apiBase: URL;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  #version: Promise<NetboxVersion> | undefined;
  #lastVersion: NetboxVersion | undefined;
  #outage = false;

  constructor(options: NetboxClientOptions) {
    if (options.token === '' || /\s/.test(options.token)) {
      throw new Error('the NetBox token must be the bare token, without "Token "/"Bearer " and without spaces');
    }
    this.#apiBase = new URL('api/', withTrailingSlash(options.baseUrl));
    // v2 tokens are the only ones with the `nbt_` prefix; everything else is a v1 token.
    this.#authorization = options.token.startsWith('nbt_') ? `Bearer ${options.token}` : `Token ${options.token}`;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
  }

  /** `netbox-version` from /api/status/, asked now (also proves the token works); remembered for version(). */
  async netboxVersion(): Promise<string> {
    const version = await this.#readVersion();
    this.#version = Promise.resolve(version);
    return version.text;
  }

  /** The release NetBox runs: asked once, and again after NetBox failed to answer. */
  version(): Promise<NetboxVersion> {
    if (!this.#version) {
      const reading = this.#readVersion();
      this.#version = reading;
      reading.catch(() => {
        if (this.#version === reading) this.#version = undefined;
      });
    }
    return this.#version;
  }

  async #readVersion(): Promise<NetboxVersion> {
    const status = await this.#request('GET', 'status/');
    const text = isRecord(status) ? status['netbox-version'] : undefined;
    const version = typeof text === 'string' ? NetboxVersion.parse(text) : undefined;
    if (!version) throw new NetboxUnavailable(`NetBox GET /api/status/ has no usable netbox-version (${JSON.stringify(text)})`);
    const previous = this.#lastVersion;
    if (this.#outage) this.#logger.info({ version: version.text }, 'NetBox answers again');
    if (previous && previous.text !== version.text) {
      this.#logger.warn({ previous: previous.text, version: version.text }, 'NetBox now runs another release; adapting to it');
    }
    if (!version.supported && previous?.text !== version.text) {
      this.#logger.warn({ version: version.text }, 'NetBox release outside 4.0–4.7, which the gateway was written for; using the nearest behaviour');
    }
    this.#outage = false;
    this.#lastVersion = version;
    return version;
  }

  /**
   * Every user whose name equals `username` ignoring case (NetBox keeps them unique that way, but rows created
   * before that rule, or by remote-user auto-creation, can still collide).
   */
  async findUsers(username: string): Promise<NetboxApiUser[]> {
    const found = await this.#list('users/users/', [['username__ie', username]], toUser);
    // Re-checked here: a NetBox that ignored the filter would otherwise hand back somebody else.
    const wanted = username.toLowerCase();
    return found.filter((user) => user.username.toLowerCase() === wanted);
  }

  async createUser(fields: NewUserFields): Promise<NetboxApiUser> {
    return toUser(await this.#request('POST', 'users/users/', userBody(fields)));
  }

  async updateUser(id: number, changes: UserChanges): Promise<NetboxApiUser> {
    return toUser(await this.#request('PATCH', `users/users/${id}/`, userBody(changes)));
  }

  /** Groups named exactly (case-sensitively, as NetBox keeps group names unique) as one of `names`. */
  async findGroups(names: readonly string[]): Promise<NetboxApiGroup[]> {
    const groups: NetboxApiGroup[] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
      const chunk = names.slice(i, i + NAMES_PER_QUERY);
      const found = await this.#list('users/groups/', chunk.map((name) => ['name', name] as const), toGroup);
      groups.push(...found.filter((group) => chunk.includes(group.name)));
    }
    return groups;
  }

  async createGroup(name: string): Promise<NetboxApiGroup> {
    return toGroup(await this.#request('POST', 'users/groups/', { name }));
  }

  /** Every object type NetBox knows, from the endpoint this release has. */
  async listObjectTypes(): Promise<NetboxObjectType[]> {
    const version = await this.version();
    return this.#list(version.objectTypesPath, [], toObjectType);
  }

  /** ObjectPermissions named exactly `name` (names are not unique in NetBox). */
  async findPermissions(name: string): Promise<NetboxApiPermission[]> {
    const found = await this.#list('users/permissions/', [['name', name]], toPermission);
    return found.filter((permission) => permission.name === name);
  }

  async createPermission(fields: NewPermissionFields): Promise<NetboxApiPermission> {
    return toPermission(await this.#request('POST', 'users/permissions/', permissionBody(fields)));
  }

  async updatePermission(id: number, changes: PermissionChanges): Promise<NetboxApiPermission> {
    return toPermission(await this.#request('PATCH', `users/permissions/${id}/`, permissionBody(changes)));
  }

  async createToken(fields: NewTokenFields): Promise<NetboxApiToken> {
    const modern = (await this.version()).atLeast(4, 5);
    const body: Record<string, unknown> = {
      user: fields.userId,
      expires: fields.expires.toISOString(),
      write_enabled: fields.writeEnabled,
      allowed_ips: [...fields.allowedIps],
      description: fields.description,
      ...(modern ? { version: fields.version } : {}),
      ...(fields.secret === undefined ? {} : { [modern ? 'token' : 'key']: fields.secret }),
    };
    return toToken(await this.#request('POST', 'users/tokens/', body));
  }

  async listTokens(userId: number): Promise<NetboxApiToken[]> {
    return this.#list('users/tokens/', [['user_id', String(userId)]], toToken);
  }

  /** Resolves also when the token is already gone. */
  async deleteToken(id: number): Promise<void> {
    try {
      await this.#request('DELETE', `users/tokens/${id}/`);
    } catch (error) {
      if (!(error instanceof NetboxUnavailable && error.status === 404)) throw error;
    }
  }

  /** Resolves also when the permission is already gone (another replica deleted it first). */
  async deletePermission(id: number): Promise<void> {
    try {
      await this.#request('DELETE', `users/permissions/${id}/`);
    } catch (error) {
      if (!(error instanceof NetboxUnavailable && error.status === 404)) throw error;
    }
  }

  async #list<T>(path: string, filters: ReadonlyArray<readonly [string, string]>, decode: (value: unknown) => T): Promise<T[]> {
    const items: T[] = [];
    for (;;) {
      const query = new URLSearchParams();
      for (const [name, value] of filters) query.append(name, value);
      query.set('limit', String(PAGE_LIMIT));
      query.set('offset', String(items.length));
      const page = await this.#request('GET', path, undefined, query);
      if (!isRecord(page) || typeof page['count'] !== 'number' || !Array.isArray(page['results'])) {
        throw new NetboxUnavailable(`NetBox GET ${this.#apiBase.pathname}${path} did not answer with a list`);
      }
      items.push(...page['results'].map(decode));
      if (page['results'].length === 0 || items.length >= page['count']) return items;
    }
  }

  async #request(method: string, path: string, body?: unknown, query?: URLSearchParams): Promise<unknown> {
    const url = new URL(path, this.#apiBase);
    if (query) url.search = query.toString();
    const label = `${method} ${url.pathname}`;
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method,
        headers: {
          Authorization: this.#authorization,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect here is a misconfiguration (http→https, missing slash on 4.4) to report, not to follow.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      this.#noteOutage();
      throw new NetboxUnavailable(`NetBox ${label} failed: ${describeFetchError(error, this.#timeoutMs)}`, undefined, { cause: error });
    }
    if (status >= 500) this.#noteOutage();
    const parsed = parseJson(text);
    if (status >= 200 && status < 300) {
      if (status === 204) return undefined;
      if (parsed === undefined) throw new NetboxUnavailable(`NetBox ${label} answered ${status} without JSON`, status);
      return parsed;
    }
    if (status === 400 && isRecord(parsed) && !('detail' in parsed)) {
      const error = new NetboxValidationError(label, validationErrors(parsed));
      this.#logger.debug({ request: label, errors: error.errors }, 'NetBox refused the data');
      throw error;
    }
    throw new NetboxUnavailable(`NetBox ${label} answered ${status}: ${describeBody(parsed, text)}`, status);
  }

  /** NetBox may come back as another release (an upgrade is an outage): the next version() asks again. */
  #noteOutage(): void {
    this.#outage = true;
    this.#version = undefined;
  }
}

function withTrailingSlash(url: URL): URL {
  const copy = new URL(url.href);
  if (!copy.pathname.endsWith('/')) copy.pathname += '/';
  copy.search = '';
  copy.hash = '';
  return copy;
}

function userBody(changes: UserChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (changes.username !== undefined) body['username'] = changes.username;
  if (changes.password !== undefined) body['password'] = changes.password;
  if (changes.firstName !== undefined) body['first_name'] = changes.firstName;
  if (changes.lastName !== undefined) body['last_name'] = changes.lastName;
  if (changes.email !== undefined) body['email'] = changes.email;
  if (changes.isActive !== undefined) body['is_active'] = changes.isActive;
  if (changes.isStaff !== undefined) body['is_staff'] = changes.isStaff;
  if (changes.groupIds !== undefined) body['groups'] = [...changes.groupIds];
  return body;
}

function permissionBody(changes: PermissionChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (changes.name !== undefined) body['name'] = changes.name;
  if (changes.description !== undefined) body['description'] = changes.description;
  if (changes.enabled !== undefined) body['enabled'] = changes.enabled;
  if (changes.objectTypes !== undefined) body['object_types'] = [...changes.objectTypes];
  if (changes.actions !== undefined) body['actions'] = [...changes.actions];
  if (changes.constraints !== undefined) body['constraints'] = changes.constraints;
  if (changes.groupIds !== undefined) body['groups'] = [...changes.groupIds];
  if (changes.userIds !== undefined) body['users'] = [...changes.userIds];
  return body;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function unexpected(what: string): NetboxUnavailable {
  return new NetboxUnavailable(`NetBox answered with an unexpected ${what}`);
}

function toGroup(value: unknown): NetboxApiGroup {
  if (!isRecord(value) || typeof value['id'] !== 'number' || typeof value['name'] !== 'string') throw unexpected('group');
  return { id: value['id'], name: value['name'] };
}

function toUser(value: unknown): NetboxApiUser {
  if (!isRecord(value) || typeof value['id'] !== 'number' || typeof value['username'] !== 'string') throw unexpected('user');
  const groups = value['groups'];
  if (!Array.isArray(groups)) throw unexpected('user (no groups)');
  const textField = (name: string): string => (typeof value[name] === 'string' ? value[name] : '');
  return {
    id: value['id'],
    username: value['username'],
    firstName: textField('first_name'),
    lastName: textField('last_name'),
    email: textField('email'),
    isActive: value['is_active'] === true,
    isStaff: typeof value['is_staff'] === 'boolean' ? value['is_staff'] : undefined,
    groups: groups.map(toGroup),
  };
}

function toToken(value: unknown): NetboxApiToken {
  if (!isRecord(value) || typeof value['id'] !== 'number') throw unexpected('token');
  const user = value['user'];
  const userId = isRecord(user) ? user['id'] : user;
  const date = (name: string): Date | undefined => (typeof value[name] === 'string' ? new Date(value[name]) : undefined);
  const text = (name: string): string | undefined => (typeof value[name] === 'string' && value[name] !== '' ? value[name] : undefined);
  return {
    id: value['id'],
    userId: typeof userId === 'number' ? userId : undefined,
    key: text('key'),
    token: text('token'),
    version: value['version'] === 2 ? 2 : 1,
    expires: date('expires'),
    writeEnabled: value['write_enabled'] === true,
    description: typeof value['description'] === 'string' ? value['description'] : '',
    lastUsed: date('last_used'),
  };
}

function toObjectType(value: unknown): NetboxObjectType {
  if (!isRecord(value) || typeof value['app_label'] !== 'string' || typeof value['model'] !== 'string') throw unexpected('object type');
  const visibility = value['public'];
  return {
    name: `${value['app_label']}.${value['model']}`,
    appLabel: value['app_label'],
    model: value['model'],
    public: typeof visibility === 'boolean' ? visibility : undefined,
  };
}

function toPermission(value: unknown): NetboxApiPermission {
  if (!isRecord(value) || typeof value['id'] !== 'number' || typeof value['name'] !== 'string') throw unexpected('permission');
  const strings = (name: string): string[] => {
    const list = value[name];
    if (!Array.isArray(list) || !list.every((item): item is string => typeof item === 'string')) throw unexpected(`permission (${name})`);
    return list;
  };
  // Groups and users come back as brief objects (IDs on write, objects on read).
  const ids = (name: string): number[] => {
    const list = value[name];
    if (!Array.isArray(list)) throw unexpected(`permission (${name})`);
    return list.map((item) => {
      const id = isRecord(item) ? item['id'] : item;
      if (typeof id !== 'number') throw unexpected(`permission (${name})`);
      return id;
    });
  };
  return {
    id: value['id'],
    name: value['name'],
    description: typeof value['description'] === 'string' ? value['description'] : '',
    enabled: value['enabled'] === true,
    objectTypes: strings('object_types'),
    actions: strings('actions'),
    constraints: value['constraints'] ?? null,
    groupIds: ids('groups'),
    userIds: ids('users'),
  };
}

function validationErrors(body: Record<string, unknown>): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(body)) {
    errors[field] = Array.isArray(messages)
      ? messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))
      : [typeof messages === 'string' ? messages : JSON.stringify(messages)];
  }
  return errors;
}

/** NetBox's own words (`detail`, or `error` on a 500), else the start of the body without markup. */
function describeBody(parsed: unknown, text: string): string {
  if (isRecord(parsed)) {
    if (typeof parsed['detail'] === 'string') return parsed['detail'];
    if (typeof parsed['error'] === 'string') return parsed['error'];
  }
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain === '' ? '(empty body)' : plain.slice(0, 300);
}

export function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  if (error instanceof Error) {
    const cause = error.cause;
    if (isRecord(cause) && typeof cause['code'] === 'string') return cause['code'];
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}
