import type { Request, Response } from 'express';
import { isIP } from 'node:net';
import { csrfFailure } from './csrf.js';
import { baseUrl, header, redirect, type RequestContext } from './context.js';
import {
  bool,
  dateTime,
  email,
  FieldErrors,
  Invalid,
  isRecord,
  pkList,
  pythonType,
  readField,
  stringList,
  text,
} from './fields.js';
import type { DoubleObjectType } from './object-types.js';
import { compareText, randomAlnum, type DoubleGroup, type DoublePermission, type DoubleToken, type DoubleUser } from './state.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PAGE_SIZE = 50;
const FULL_VERSION = { '4.3': '4.3.7', '4.4': '4.4.10', '4.6.0': '4.6.0', '4.6.8': '4.6.8' } as const;
const API_VERSION = { '4.3': '4.3', '4.4': '4.4', '4.6.0': '4.6', '4.6.8': '4.6' } as const;

type Resource = 'root' | 'status' | 'authentication-check' | 'user-config' | 'users' | 'groups' | 'permissions' | 'tokens' | 'object-types';

interface Route {
  readonly resource: Resource;
  readonly id: number | undefined;
}

interface Caller {
  readonly user: DoubleUser;
  readonly token: DoubleToken | undefined;
}

export type TokenAuthentication =
  | { readonly kind: 'none' }
  | { readonly kind: 'fail'; readonly detail: string }
  | { readonly kind: 'ok'; readonly user: DoubleUser; readonly token: DoubleToken };

// ---------------------------------------------------------------------------------------------------------------
// Authentication

/** NetBox's TokenAuthentication: `Token <v1>` always, `Bearer nbt_<key>.<secret>` from 4.5. */
export function authenticateToken(context: RequestContext, authorization: string | undefined): TokenAuthentication {
  const parts = (authorization ?? '').trim().split(/\s+/).filter((p) => p !== '');
  const keyword = parts[0]?.toLowerCase();
  if (keyword !== 'token' && !(keyword === 'bearer' && context.state.modern)) return { kind: 'none' };
  if (parts.length === 1) return { kind: 'fail', detail: 'Invalid token header. No credentials provided.' };
  if (parts.length > 2) {
    return { kind: 'fail', detail: 'Invalid token header. Token string should not contain spaces.' };
  }
  const value = parts[1] ?? '';
  let token: DoubleToken | undefined;
  if (keyword === 'token') {
    token = context.state.findV1Token(value);
    if (!token) return { kind: 'fail', detail: 'Invalid token' };
  } else {
    const match = /^nbt_([A-Za-z0-9]{12})\.(.+)$/.exec(value);
    token = match ? context.state.findV2Token(match[1] ?? '', match[2] ?? '') : undefined;
    if (!token) return { kind: 'fail', detail: 'Invalid v2 token' };
  }
  const now = new Date();
  if (!token.enabled) return { kind: 'fail', detail: 'Token disabled' };
  if (token.expires && token.expires <= now) return { kind: 'fail', detail: 'Token expired' };
  const user = context.state.user(token.userId);
  if (!user?.isActive) return { kind: 'fail', detail: 'User inactive' };
  if (token.allowedIps.length > 0 && !token.allowedIps.some((net) => ipInNetwork(context.clientIp, net))) {
    return {
      kind: 'fail',
      detail: `Source IP ${context.clientIp} is not permitted to authenticate using this token.`,
    };
  }
  token.lastUsed = now;
  return { kind: 'ok', user, token };
}

function ipInNetwork(ip: string, network: string): boolean {
  const address = ip.replace(/^::ffff:/, '');
  const [base = '', bits] = network.split('/');
  if (isIP(address) !== 4 || isIP(base) !== 4) return address === base;
  const prefix = bits === undefined ? 32 : Number(bits);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (ipv4(address) & mask) >>> 0 === (ipv4(base) & mask) >>> 0;
}

function ipv4(address: string): number {
  return address.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

/** DRF with NetBox's authenticators: the session first (then unsafe methods need CSRF), the token second. */
function authenticate(context: RequestContext, req: Request): Caller | string {
  if (context.user) {
    if (!SAFE_METHODS.has(req.method)) {
      const reason = csrfFailure({
        secure: context.secure,
        host: context.host,
        origin: header(req, 'origin'),
        referer: header(req, 'referer'),
        cookieSecret: context.csrfSecret,
        formToken: undefined,
        headerToken: header(req, 'x-csrftoken'),
      });
      if (reason) return `CSRF Failed: ${reason}`;
    }
    return { user: context.user, token: undefined };
  }
  const result = authenticateToken(context, header(req, 'authorization'));
  if (result.kind === 'ok') return { user: result.user, token: result.token };
  return result.kind === 'fail' ? result.detail : 'Authentication credentials were not provided.';
}

function hasPermission(context: RequestContext, caller: Caller, method: string, permission: string): boolean {
  // TokenPermissions: a read-only token cannot write whatever its user may do.
  if (caller.token && !caller.token.writeEnabled && !SAFE_METHODS.has(method)) return false;
  return context.state.hasPerm(caller.user, permission);
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

function resolve(path: string, state: RequestContext['state']): Route | undefined {
  if (path === '/api/') return { resource: 'root', id: undefined };
  if (path === '/api/status/') return { resource: 'status', id: undefined };
  if (path === '/api/authentication-check/' && state.modern) return { resource: 'authentication-check', id: undefined };
  if (path === '/api/users/config/') return { resource: 'user-config', id: undefined };
  const users = /^\/api\/users\/(users|groups|permissions|tokens)\/(?:(\d+)\/)?$/.exec(path);
  if (users) return { resource: users[1] as Resource, id: users[2] === undefined ? undefined : Number(users[2]) };
  const types = /^\/api\/(extras|core)\/object-types\/(?:(\d+)\/)?$/.exec(path);
  if (types && state.objectTypesPaths.some((app) => app === types[1])) {
    return { resource: 'object-types', id: types[2] === undefined ? undefined : Number(types[2]) };
  }
  return undefined;
}

export function handleApi(context: RequestContext, req: Request, res: Response): void {
  const { state } = context;
  const path = context.url.pathname;
  res.setHeader('API-Version', API_VERSION[state.version]);
  const route = resolve(path, state);
  if (!route) {
    if (!path.endsWith('/') && resolve(`${path}/`, state)) {
      // Django's APPEND_SLASH redirects; NetBox 4.5+ answers 404 to unsafe methods instead of a redirect that
      // would silently turn a POST into a GET.
      if (SAFE_METHODS.has(req.method) || !state.modern) {
        redirect(res, 301, `${path}/${context.url.search}`);
        return;
      }
    }
    res.status(404).json({ detail: 'Not found.' });
    return;
  }
  const caller = authenticate(context, req);
  if (typeof caller === 'string') {
    res.status(403).json({ detail: caller });
    return;
  }
  const api = new Api(context, req, res, caller);
  switch (route.resource) {
    case 'root':
      return api.root();
    case 'status':
      return api.status();
    case 'authentication-check':
      return api.authenticationCheck();
    case 'user-config':
      return api.userConfig();
    case 'users':
      return route.id === undefined ? api.users() : api.user(route.id);
    case 'groups':
      return route.id === undefined ? api.groups() : api.group(route.id);
    case 'permissions':
      return route.id === undefined ? api.permissions() : api.permission(route.id);
    case 'tokens':
      return route.id === undefined ? api.tokens() : api.token(route.id);
    case 'object-types':
      return route.id === undefined ? api.objectTypes() : api.objectTypeById(route.id);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Views

interface UserData {
  username?: string;
  password?: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  isActive?: boolean;
  isStaff?: boolean;
  groupIds?: number[];
  permissionIds?: number[];
}

interface PermissionData {
  name?: string;
  description?: string;
  enabled?: boolean;
  objectTypes?: string[];
  actions?: string[];
  constraints?: unknown;
  groupIds?: number[];
  userIds?: number[];
}

class Api {
  private readonly method: string;

  constructor(
    private readonly context: RequestContext,
    private readonly req: Request,
    private readonly res: Response,
    private readonly caller: Caller,
  ) {
    this.method = req.method === 'HEAD' ? 'GET' : req.method;
  }

  private get state() {
    return this.context.state;
  }

  root(): void {
    if (this.method !== 'GET') return this.notAllowed();
    const base = baseUrl(this.context);
    this.res.json({ users: `${base}/api/users/`, status: `${base}/api/status/` });
  }

  status(): void {
    if (this.method !== 'GET') return this.notAllowed();
    const version = FULL_VERSION[this.state.version];
    this.res.json({
      'django-version': '5.2.9',
      'installed-apps': {},
      'netbox-version': version,
      'netbox-full-version': version,
      plugins: {},
      'python-version': '3.12.3',
      'rq-workers-running': 1,
    });
  }

  /** NetBox's UserConfigView (3.0+): the caller's UI preferences; any authenticated caller may read its own. */
  userConfig(): void {
    if (this.method !== 'GET') return this.notAllowed();
    this.res.json({});
  }

  authenticationCheck(): void {
    if (this.method !== 'GET') return this.notAllowed();
    this.res.json(this.userJson(this.caller.user));
  }

  // Users

  users(): void {
    if (this.method === 'GET') {
      if (!this.permitted('users.view_user')) return;
      const users = this.filterUsers([...this.state.users.values()]);
      if (users) this.page(users.sort((a, b) => compareText(a.username, b.username)), (u) => this.userJson(u));
      return;
    }
    if (this.method !== 'POST') return this.notAllowed();
    if (!this.permitted('users.add_user')) return;
    if (this.state.failure === 'users-post') return this.serverError();
    const body = this.body();
    if (!body) return;
    const data = this.validateUser(body, 'create', undefined);
    if (!data) return;
    const user = this.state.insertUser(data.username ?? '');
    this.applyUser(user, data);
    this.res.status(201).json(this.userJson(user));
  }

  user(id: number): void {
    const permission = { GET: 'view', PATCH: 'change', PUT: 'change', DELETE: 'delete' }[this.method];
    if (!permission) return this.notAllowed();
    if (!this.permitted(`users.${permission}_user`)) return;
    const user = this.state.user(id);
    if (!user) return this.notFound('User');
    if (this.method === 'GET') {
      this.res.json(this.userJson(user));
    } else if (this.method === 'DELETE') {
      this.state.deleteUser(id);
      this.res.status(204).end();
    } else {
      const body = this.body();
      if (!body) return;
      const data = this.validateUser(body, this.method === 'PUT' ? 'replace' : 'partial', user);
      if (!data) return;
      this.applyUser(user, data);
      this.res.json(this.userJson(user));
    }
  }

  private filterUsers(users: DoubleUser[]): DoubleUser[] | undefined {
    const ids = this.intParams('id');
    if (!ids) return undefined;
    const groupIds = this.intParams('group_id');
    if (!groupIds) return undefined;
    const exact = this.params('username');
    const ie = this.params('username__ie').map((v) => v.toLowerCase());
    const groupNames = this.params('group');
    const active = this.params('is_active').map((v) => bool(v));
    return users.filter(
      (u) =>
        (ids.length === 0 || ids.includes(u.id)) &&
        (exact.length === 0 || exact.includes(u.username)) &&
        (ie.length === 0 || ie.includes(u.username.toLowerCase())) &&
        (groupIds.length === 0 || groupIds.some((g) => u.groupIds.has(g))) &&
        (groupNames.length === 0 || this.state.groupNamesOf(u).some((n) => groupNames.includes(n))) &&
        (active.length === 0 || active.includes(u.isActive)),
    );
  }

  private validateUser(body: Record<string, unknown>, mode: 'create' | 'replace' | 'partial', current?: DoubleUser) {
    const errors = new FieldErrors();
    const full = mode !== 'partial';
    const data: UserData = {};
    data.username = readField(body, 'username', full, errors, (value) => {
      const name = text({ maxLength: 150, allowBlank: false })(value);
      if (name instanceof Invalid) return name;
      if (!/^[\p{L}\p{N}_.@+-]+$/u.test(name)) {
        return new Invalid(
          'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
        );
      }
      const same = this.state.userByExactName(name);
      if (same && same !== current) return new Invalid('A user with that username already exists.');
      return name;
    });
    data.password = readField(body, 'password', full, errors, text({ maxLength: 128, allowBlank: false }));
    data.firstName = readField(body, 'first_name', false, errors, text({ maxLength: 150, allowBlank: true }));
    data.lastName = readField(body, 'last_name', false, errors, text({ maxLength: 150, allowBlank: true }));
    data.email = readField(body, 'email', false, errors, email);
    data.isActive = readField(body, 'is_active', false, errors, bool);
    if (!this.state.modern) data.isStaff = readField(body, 'is_staff', false, errors, bool);
    data.groupIds = readField(body, 'groups', false, errors, pkList((id) => this.state.groups.has(id)));
    data.permissionIds = readField(body, 'permissions', false, errors, pkList((id) => this.state.permissions.has(id)));
    if (!errors.empty) return this.invalid(errors.map);

    if (data.password !== undefined) {
      const problems = passwordProblems(data.password);
      if (problems.length > 0) return this.invalid({ non_field_errors: problems });
    }
    // User.clean(), run by full_clean() in NetBox's ValidatedModelSerializer: usernames are unique ignoring case.
    const twin = data.username === undefined ? undefined : this.state.findUser(data.username);
    if (twin && twin !== current) return this.invalid({ __all__: ['A user with this username already exists.'] });
    return data;
  }

  private applyUser(user: DoubleUser, data: UserData): void {
    if (data.username !== undefined) user.username = data.username;
    if (data.firstName !== undefined) user.firstName = data.firstName;
    if (data.lastName !== undefined) user.lastName = data.lastName;
    if (data.email !== undefined) user.email = data.email;
    if (data.isActive !== undefined) user.isActive = data.isActive;
    if (data.isStaff !== undefined) user.isStaff = data.isStaff;
    if (data.groupIds !== undefined) {
      user.groupIds.clear();
      for (const id of data.groupIds) user.groupIds.add(id);
    }
    if (data.permissionIds !== undefined) {
      const wanted = data.permissionIds;
      for (const permission of this.state.permissions.values()) {
        if (wanted.includes(permission.id)) permission.userIds.add(user.id);
        else permission.userIds.delete(user.id);
      }
    }
    if (data.password !== undefined) this.state.setPassword(user.id, data.password);
  }

  private userJson(user: DoubleUser): Record<string, unknown> {
    const base = baseUrl(this.context);
    const fullName = `${user.firstName} ${user.lastName}`.trim();
    return {
      id: user.id,
      url: `${base}/api/users/users/${user.id}/`,
      display_url: `${base}/users/users/${user.id}/`,
      display: fullName ? `${user.username} (${fullName})` : user.username,
      username: user.username,
      first_name: user.firstName,
      last_name: user.lastName,
      email: user.email,
      ...(this.state.modern ? {} : { is_staff: user.isStaff }),
      is_active: user.isActive,
      date_joined: user.dateJoined.toISOString(),
      last_login: user.lastLogin?.toISOString() ?? null,
      groups: this.state.groupsOf(user).map((g) => this.groupBrief(g)),
      permissions: this.permissionsOf((p) => p.userIds.has(user.id)),
    };
  }

  private userBrief(user: DoubleUser): Record<string, unknown> {
    const base = baseUrl(this.context);
    return { id: user.id, url: `${base}/api/users/users/${user.id}/`, display: user.username, username: user.username };
  }

  // Groups

  groups(): void {
    if (this.method === 'GET') {
      if (!this.permitted('users.view_group')) return;
      const ids = this.intParams('id');
      if (!ids) return;
      const names = this.params('name');
      const ie = this.params('name__ie').map((v) => v.toLowerCase());
      const groups = [...this.state.groups.values()].filter(
        (g) =>
          (ids.length === 0 || ids.includes(g.id)) &&
          (names.length === 0 || names.includes(g.name)) &&
          (ie.length === 0 || ie.includes(g.name.toLowerCase())),
      );
      this.page(groups.sort((a, b) => compareText(a.name, b.name)), (g) => this.groupJson(g));
      return;
    }
    if (this.method !== 'POST') return this.notAllowed();
    if (!this.permitted('users.add_group')) return;
    const body = this.body();
    if (!body) return;
    const data = this.validateGroup(body, true, undefined);
    if (!data) return;
    const group = this.state.addGroup(data.name ?? '', data.description ?? '');
    this.applyGroupPermissions(group, data.permissionIds);
    this.res.status(201).json(this.groupJson(group));
  }

  group(id: number): void {
    const permission = { GET: 'view', PATCH: 'change', PUT: 'change', DELETE: 'delete' }[this.method];
    if (!permission) return this.notAllowed();
    if (!this.permitted(`users.${permission}_group`)) return;
    const group = this.state.groups.get(id);
    if (!group) return this.notFound('Group');
    if (this.method === 'GET') {
      this.res.json(this.groupJson(group));
    } else if (this.method === 'DELETE') {
      this.state.deleteGroup(id);
      this.res.status(204).end();
    } else {
      const body = this.body();
      if (!body) return;
      const data = this.validateGroup(body, this.method === 'PUT', group);
      if (!data) return;
      if (data.name !== undefined) group.name = data.name;
      if (data.description !== undefined) group.description = data.description;
      this.applyGroupPermissions(group, data.permissionIds);
      this.res.json(this.groupJson(group));
    }
  }

  private validateGroup(body: Record<string, unknown>, full: boolean, current: DoubleGroup | undefined) {
    const errors = new FieldErrors();
    const name = readField(body, 'name', full, errors, (value) => {
      const parsed = text({ maxLength: 150, allowBlank: false })(value);
      if (parsed instanceof Invalid) return parsed;
      const same = this.state.groupByName(parsed);
      return same && same !== current ? new Invalid('group with this name already exists.') : parsed;
    });
    const description = readField(body, 'description', false, errors, text({ maxLength: 200, allowBlank: true }));
    const permissionIds = readField(body, 'permissions', false, errors, pkList((id) => this.state.permissions.has(id)));
    if (!errors.empty) return this.invalid(errors.map);
    return { name, description, permissionIds };
  }

  private applyGroupPermissions(group: DoubleGroup, permissionIds: number[] | undefined): void {
    if (permissionIds === undefined) return;
    for (const permission of this.state.permissions.values()) {
      if (permissionIds.includes(permission.id)) permission.groupIds.add(group.id);
      else permission.groupIds.delete(group.id);
    }
  }

  private groupJson(group: DoubleGroup): Record<string, unknown> {
    const base = baseUrl(this.context);
    return {
      id: group.id,
      url: `${base}/api/users/groups/${group.id}/`,
      display_url: `${base}/users/groups/${group.id}/`,
      display: group.name,
      name: group.name,
      description: group.description,
      permissions: this.permissionsOf((p) => p.groupIds.has(group.id)),
      user_count: this.state.userCountOf(group.id),
    };
  }

  private groupBrief(group: DoubleGroup): Record<string, unknown> {
    const base = baseUrl(this.context);
    return {
      id: group.id,
      url: `${base}/api/users/groups/${group.id}/`,
      display: group.name,
      name: group.name,
      description: group.description,
    };
  }

  // ObjectPermissions

  permissions(): void {
    if (this.method === 'GET') {
      if (!this.permitted('users.view_objectpermission')) return;
      const ids = this.intParams('id');
      const groupIds = ids && this.intParams('group_id');
      const userIds = groupIds && this.intParams('user_id');
      if (!ids || !groupIds || !userIds) return;
      const names = this.params('name');
      const ie = this.params('name__ie').map((v) => v.toLowerCase());
      const enabled = this.params('enabled').map((v) => bool(v));
      const permissions = [...this.state.permissions.values()].filter(
        (p) =>
          (ids.length === 0 || ids.includes(p.id)) &&
          (names.length === 0 || names.includes(p.name)) &&
          (ie.length === 0 || ie.includes(p.name.toLowerCase())) &&
          (enabled.length === 0 || enabled.includes(p.enabled)) &&
          (groupIds.length === 0 || groupIds.some((id) => p.groupIds.has(id))) &&
          (userIds.length === 0 || userIds.some((id) => p.userIds.has(id))),
      );
      // ObjectPermission's Meta.ordering is by name.
      this.page(permissions.sort((a, b) => compareText(a.name, b.name) || a.id - b.id), (p) => this.permissionJson(p));
      return;
    }
    if (this.method !== 'POST') return this.notAllowed();
    if (!this.permitted('users.add_objectpermission')) return;
    const body = this.body();
    if (!body) return;
    const data = this.validatePermission(body, true);
    if (!data) return;
    const permission = this.state.insertPermission(data.name ?? '');
    this.applyPermission(permission, { enabled: true, constraints: null, ...data });
    this.res.status(201).json(this.permissionJson(permission));
  }

  permission(id: number): void {
    const permission = { GET: 'view', PATCH: 'change', PUT: 'change', DELETE: 'delete' }[this.method];
    if (!permission) return this.notAllowed();
    if (!this.permitted(`users.${permission}_objectpermission`)) return;
    const found = this.state.permissions.get(id);
    if (!found) return this.notFound('ObjectPermission');
    if (this.method === 'GET') {
      this.res.json(this.permissionJson(found));
    } else if (this.method === 'DELETE') {
      this.state.permissions.delete(id);
      this.res.status(204).end();
    } else {
      const body = this.body();
      if (!body) return;
      const data = this.validatePermission(body, this.method === 'PUT');
      if (!data) return;
      this.applyPermission(found, data);
      this.res.json(this.permissionJson(found));
    }
  }

  /** ObjectPermissionSerializer: ContentTypeField(many=True) for object_types, ArrayField(CharField(30)) for actions. */
  private validatePermission(body: Record<string, unknown>, full: boolean): PermissionData | undefined {
    const errors = new FieldErrors();
    const data: PermissionData = {};
    data.name = readField(body, 'name', full, errors, text({ maxLength: 100, allowBlank: false }));
    data.description = readField(body, 'description', false, errors, text({ maxLength: 200, allowBlank: true }));
    data.enabled = readField(body, 'enabled', false, errors, bool);
    data.objectTypes = readField(body, 'object_types', full, errors, (value) => this.objectTypeNames(value));
    data.actions = readField(body, 'actions', full, errors, (value) => {
      if (!Array.isArray(value)) return new Invalid(`Expected a list of items but got type "${pythonType(value)}".`);
      const actions: string[] = [];
      for (const item of value) {
        const action = text({ maxLength: 30, allowBlank: false })(item);
        if (action instanceof Invalid) return action;
        actions.push(action);
      }
      return actions;
    });
    if ('constraints' in body) data.constraints = body['constraints'];
    data.groupIds = readField(body, 'groups', false, errors, pkList((id) => this.state.groups.has(id)));
    data.userIds = readField(body, 'users', false, errors, pkList((id) => this.state.users.has(id)));
    if (!errors.empty) return this.invalid(errors.map);
    // ValidatedModelSerializer's full_clean(): the ArrayField is not blank=True.
    if (data.actions !== undefined && data.actions.length === 0) return this.invalid({ actions: ['This field cannot be blank.'] });
    return data;
  }

  /** ContentTypeField: `<app_label>.<model>` naming an existing content type; the first bad item decides the error. */
  private objectTypeNames(value: unknown): string[] | Invalid {
    if (!Array.isArray(value)) return new Invalid(`Expected a list of items but got type "${pythonType(value)}".`);
    const names: string[] = [];
    for (const item of value) {
      const parts = typeof item === 'string' ? item.split('.') : [];
      if (parts.length !== 2) return new Invalid("Invalid value. Specify a content type as '<app_label>.<model_name>'.");
      if (!this.state.objectType(String(item))) return new Invalid(`Invalid content type: ${String(item)}`);
      if (!names.includes(String(item))) names.push(String(item));
    }
    return names;
  }

  private applyPermission(permission: DoublePermission, data: PermissionData): void {
    if (data.name !== undefined) permission.name = data.name;
    if (data.description !== undefined) permission.description = data.description;
    if (data.enabled !== undefined) permission.enabled = data.enabled;
    if (data.actions !== undefined) permission.actions = data.actions;
    if (data.constraints !== undefined) permission.constraints = data.constraints;
    const replace = <T>(set: Set<T>, items: T[] | undefined): void => {
      if (items === undefined) return;
      set.clear();
      for (const item of items) set.add(item);
    };
    replace(permission.objectTypes, data.objectTypes);
    replace(permission.groupIds, data.groupIds);
    replace(permission.userIds, data.userIds);
  }

  private permissionJson(permission: DoublePermission): Record<string, unknown> {
    return {
      ...this.permissionBrief(permission),
      display_url: `${baseUrl(this.context)}/users/permissions/${permission.id}/`,
      constraints: permission.constraints,
      groups: [...permission.groupIds]
        .map((id) => this.state.groups.get(id))
        .filter((g): g is DoubleGroup => g !== undefined)
        .map((g) => this.groupBrief(g)),
      users: [...permission.userIds]
        .map((id) => this.state.user(id))
        .filter((u): u is DoubleUser => u !== undefined)
        .map((u) => this.userBrief(u)),
    };
  }

  private permissionBrief(permission: DoublePermission): Record<string, unknown> {
    return {
      id: permission.id,
      url: `${baseUrl(this.context)}/api/users/permissions/${permission.id}/`,
      display: permission.name,
      name: permission.name,
      description: permission.description,
      enabled: permission.enabled,
      object_types: [...permission.objectTypes].sort(),
      actions: permission.actions,
    };
  }

  private permissionsOf(matches: (permission: DoublePermission) => boolean): Record<string, unknown>[] {
    return [...this.state.permissions.values()].filter(matches).map((p) => this.permissionBrief(p));
  }

  // Object types: read-only, listed ordered by app_label and model. Any authenticated caller may read them.

  objectTypes(): void {
    if (this.method !== 'GET') return this.notAllowed();
    const ids = this.intParams('id');
    if (!ids) return;
    const apps = this.params('app_label');
    const models = this.params('model');
    const types = this.state.objectTypes.filter(
      (t) =>
        (ids.length === 0 || ids.includes(t.id)) &&
        (apps.length === 0 || apps.includes(t.appLabel)) &&
        (models.length === 0 || models.includes(t.model)),
    );
    this.page([...types], (t) => this.objectTypeJson(t));
  }

  objectTypeById(id: number): void {
    if (this.method !== 'GET') return this.notAllowed();
    const type = this.state.objectTypes.find((t) => t.id === id);
    if (!type) return this.notFound('ObjectType');
    this.res.json(this.objectTypeJson(type));
  }

  /** 4.0–4.3: extras' ObjectTypeSerializer. 4.4+: core's (also behind 4.4's extras alias), with `public`. */
  private objectTypeJson(type: DoubleObjectType): Record<string, unknown> {
    const base = baseUrl(this.context);
    const display = `${type.appLabel} | ${type.model}`;
    if (this.state.version === '4.3') {
      return {
        id: type.id,
        url: `${base}/api/extras/object-types/${type.id}/`,
        display_url: `${base}/extras/object-types/${type.id}/`,
        display,
        app_label: type.appLabel,
        model: type.model,
      };
    }
    return {
      id: type.id,
      url: `${base}/api/core/object-types/${type.id}/`,
      display,
      app_label: type.appLabel,
      app_name: type.appLabel,
      model: type.model,
      model_name: type.model,
      model_name_plural: `${type.model}s`,
      public: type.public,
      features: [],
      is_plugin_model: false,
      rest_api_endpoint: type.public ? `/api/${type.appLabel}/${type.model}s/` : null,
      description: null,
    };
  }

  // Tokens: enough for minting a token for another user and revoking it, version by version.

  tokens(): void {
    if (this.method === 'GET') {
      if (!this.permitted('users.view_token')) return;
      const userIds = this.intParams('user_id');
      if (!userIds) return;
      const usernames = this.params('user');
      const tokens = [...this.state.tokens.values()].filter(
        (t) =>
          (userIds.length === 0 || userIds.includes(t.userId)) &&
          (usernames.length === 0 || usernames.includes(this.state.user(t.userId)?.username ?? '')),
      );
      this.page(tokens, (t) => this.tokenJson(t, undefined));
      return;
    }
    if (this.method !== 'POST') return this.notAllowed();
    if (!this.permitted('users.add_token')) return;
    const body = this.body();
    if (!body) return;
    this.createToken(body);
  }

  token(id: number): void {
    const permission = { GET: 'view', PATCH: 'change', DELETE: 'delete' }[this.method];
    if (!permission) return this.notAllowed();
    if (!this.permitted(`users.${permission}_token`)) return;
    const token = this.state.tokens.get(id);
    if (!token) return this.notFound('Token');
    if (this.method === 'GET') {
      this.res.json(this.tokenJson(token, undefined));
    } else if (this.method === 'DELETE') {
      this.state.tokens.delete(id);
      this.res.status(204).end();
    } else {
      const body = this.body();
      if (!body) return;
      const errors = new FieldErrors();
      const enabled = this.state.modern ? readField(body, 'enabled', false, errors, bool) : undefined;
      const writeEnabled = readField(body, 'write_enabled', false, errors, bool);
      const description = readField(body, 'description', false, errors, text({ maxLength: 200, allowBlank: true }));
      if (!errors.empty) return void this.invalid(errors.map);
      if (enabled !== undefined) token.enabled = enabled;
      if (writeEnabled !== undefined) token.writeEnabled = writeEnabled;
      if (description !== undefined) token.description = description;
      this.res.json(this.tokenJson(token, undefined));
    }
  }

  private createToken(body: Record<string, unknown>): void {
    const { state } = this;
    const errors = new FieldErrors();
    const user = readField(body, 'user', true, errors, (value) => this.relatedUser(value));
    const version = state.modern
      ? (readField(body, 'version', false, errors, (value) =>
          value === 1 || value === 2 ? value : new Invalid(`"${String(value)}" is not a valid choice.`),
        ) ?? 2)
      : 1;
    // 4.4 takes the caller's own `key`; 4.5–4.6 its own `token`; either way exactly 40 characters for v1.
    const secretField = state.modern ? 'token' : 'key';
    const secret = readField(body, secretField, false, errors, (value) => {
      const parsed = text({ maxLength: 40, allowBlank: false, minLength: version === 1 ? 40 : 1 })(value);
      if (parsed instanceof Invalid) return parsed;
      return /^[A-Za-z0-9]+$/.test(parsed) ? parsed : new Invalid('Enter a valid value.');
    });
    const description = readField(body, 'description', false, errors, text({ maxLength: 200, allowBlank: true }));
    const expires = readField(body, 'expires', false, errors, dateTime);
    const enabled = state.modern ? readField(body, 'enabled', false, errors, bool) : undefined;
    const writeEnabled = readField(body, 'write_enabled', false, errors, bool);
    const allowedIps = readField(body, 'allowed_ips', false, errors, stringList);
    if (!errors.empty || !user) return void this.invalid(errors.map);
    if (user !== this.caller.user && !this.state.hasPerm(this.caller.user, 'users.grant_token')) {
      this.res.status(403).json({ detail: 'This user does not have permission to create tokens for other users.' });
      return;
    }
    if (version === 2 && !state.peppersConfigured) {
      return void this.invalid({ non_field_errors: ['Unable to save v2 tokens: API_TOKEN_PEPPERS is not defined.'] });
    }
    const plaintext = secret ?? randomAlnum(40);
    const issued = state.addToken({
      userId: user.id,
      version,
      secret: plaintext,
      ...(description === undefined ? {} : { description }),
      ...(expires === undefined ? {} : { expires }),
      ...(enabled === undefined ? {} : { enabled }),
      ...(writeEnabled === undefined ? {} : { writeEnabled }),
      ...(allowedIps === undefined ? {} : { allowedIps }),
    });
    this.res.status(201).json(this.tokenJson(issued.token, plaintext));
  }

  private relatedUser(value: unknown): DoubleUser | Invalid {
    if (typeof value === 'number') {
      return this.state.user(value) ?? new Invalid(`Related object not found using the provided numeric ID: ${value}`);
    }
    if (isRecord(value)) {
      const found = [...this.state.users.values()].find(
        (u) => (value['id'] === undefined || value['id'] === u.id) && (value['username'] === undefined || value['username'] === u.username),
      );
      if (found && (value['id'] !== undefined || value['username'] !== undefined)) return found;
      return new Invalid(`Related object not found using the provided attributes: ${JSON.stringify(value)}`);
    }
    return new Invalid(`Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: ${String(value)}`);
  }

  /** `plaintext` is set only in the response to the POST that created the token. */
  private tokenJson(token: DoubleToken, plaintext: string | undefined): Record<string, unknown> {
    const base = baseUrl(this.context);
    const user = this.state.user(token.userId);
    const common = {
      id: token.id,
      url: `${base}/api/users/tokens/${token.id}/`,
      display_url: `${base}/user/api-tokens/${token.id}/`,
      display: token.key === null ? `**********${token.stored.slice(-4)}` : `nbt_${token.key}`,
      user: user ? this.userBrief(user) : null,
      description: token.description,
      created: token.created.toISOString(),
      expires: token.expires?.toISOString() ?? null,
      last_used: token.lastUsed?.toISOString() ?? null,
      write_enabled: token.writeEnabled,
      allowed_ips: token.allowedIps,
    };
    // 4.3–4.4: `key` is write-only. 4.5–4.6.0: `token` is always null. 4.6.1+: the creating response carries it.
    if (!this.state.modern) return common;
    return {
      ...common,
      version: token.version,
      key: token.key,
      enabled: token.enabled,
      pepper_id: token.version === 2 ? 1 : null,
      token: this.state.version === '4.6.8' ? (plaintext ?? null) : null,
    };
  }

  // Plumbing

  private permitted(permission: string): boolean {
    if (hasPermission(this.context, this.caller, this.req.method, permission)) return true;
    this.res.status(403).json({ detail: 'You do not have permission to perform this action.' });
    return false;
  }

  /** The JSON body as a dict, or undefined after answering 400/415 like DRF. */
  private body(): Record<string, unknown> | undefined {
    const raw: unknown = this.req.body;
    let value: unknown = {};
    if (Buffer.isBuffer(raw) && raw.length > 0) {
      const type = (header(this.req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (type !== 'application/json') {
        this.res.status(415).json({ detail: `Unsupported media type "${type}" in request.` });
        return undefined;
      }
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        this.res.status(400).json({ detail: `JSON parse error - ${(error as Error).message}` });
        return undefined;
      }
    }
    if (!isRecord(value)) {
      this.invalid({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(value)}.`] });
      return undefined;
    }
    return value;
  }

  private invalid(errors: Record<string, string[]>): undefined {
    this.res.status(400).json(errors);
    return undefined;
  }

  private notAllowed(): void {
    this.res.status(405).json({ detail: `Method "${this.req.method}" not allowed.` });
  }

  private notFound(model: string): void {
    this.res.status(404).json({ detail: `No ${model} matches the given query.` });
  }

  private serverError(): void {
    this.res.status(500).json({
      error: 'could not obtain lock on row in relation "users_user"',
      exception: 'OperationalError',
      netbox_version: FULL_VERSION[this.state.version],
      python_version: '3.12.3',
    });
  }

  private params(name: string): string[] {
    return this.context.url.searchParams.getAll(name);
  }

  /** Integer filter values, or undefined after answering 400 like django-filter. */
  private intParams(name: string): number[] | undefined {
    const values = this.params(name);
    if (values.every((v) => /^\d+$/.test(v))) return values.map(Number);
    this.invalid({ [name]: ['Enter a whole number.'] });
    return undefined;
  }

  private page<T>(items: T[], render: (item: T) => unknown): void {
    const search = this.context.url.searchParams;
    const requested = Number(search.get('limit') ?? PAGE_SIZE);
    const max = this.state.maxPageSize;
    const limit = !Number.isInteger(requested) || requested < 0 ? PAGE_SIZE : requested === 0 ? max : Math.min(requested, max);
    const requestedOffset = Number(search.get('offset') ?? 0);
    const offset = Number.isInteger(requestedOffset) && requestedOffset > 0 ? requestedOffset : 0;
    const link = (newOffset: number): string => {
      const params = new URLSearchParams(search);
      params.set('limit', String(limit));
      if (newOffset > 0) params.set('offset', String(newOffset));
      else params.delete('offset');
      return `${baseUrl(this.context)}${this.context.url.pathname}?${params.toString()}`;
    };
    this.res.json({
      count: items.length,
      next: offset + limit < items.length ? link(offset + limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
      results: items.slice(offset, offset + limit).map(render),
    });
  }
}

/** NetBox's AUTH_PASSWORD_VALIDATORS: MinimumLengthValidator(12) and NumericAlphaPasswordValidator. */
function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < 12) problems.push('This password is too short. It must contain at least 12 characters.');
  if (!/\p{Nd}/u.test(password)) problems.push('Password must have at least one numeral.');
  else if (!/\p{Lu}/u.test(password)) problems.push('Password should have at least one uppercase letter');
  else if (!/\p{Ll}/u.test(password)) problems.push('Password must have at least one lowercase letter.');
  return problems;
}
