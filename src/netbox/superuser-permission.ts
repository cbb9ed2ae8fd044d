import type { Logger } from '../log.js';
import type { NetboxApiPermission, NetboxClient, NetboxObjectType, PermissionChanges } from './client.js';
import { ensureGroups } from './groups.js';
import { NetboxUnavailable } from './types.js';

/*
 * NetBox's REST API cannot make anyone a superuser (`is_superuser` is in no version of it), so in password mode the
 * gateway approximates one: an ObjectPermission granting every action on every object type, bound to the superuser
 * groups. What it cannot give, because NetBox checks `user.is_superuser` itself rather than a permission
 * (read in NetBox's source, 4.0–4.7):
 *
 * - The pages and API behind NetBox's "System" menu: background queues/tasks/workers (core/views.py BaseRQView;
 *   core/api/views.py BaseRQViewSet with `IsSuperuser` for /api/core/background-*), System (SystemView, and
 *   SystemDBSchemaView where present), the plugins list and detail (BasePluginView), and the installed-plugins API.
 *   Up to 4.4 these checked `is_staff` instead (netbox#19519), which the gateway can set for staff groups; from 4.5
 *   they check `is_superuser` (netbox#20306, which removed `is_staff`).
 * - The Admin navigation menu: from 4.5 its items show only to superusers (netbox#21242), though the users, groups,
 *   permissions and token pages stay reachable by URL with this permission.
 * - Restoring a configuration revision (ConfigRevisionRestoreView checks `core.configrevision_edit`, a name no
 *   ObjectPermission can produce).
 * - Anything a plugin gates on `is_superuser` or `staff_only` menu items (mapped to `is_superuser` from 4.5), and
 *   custom actions a plugin registers (netbox.registry `model_actions`) beyond SUPERUSER_ACTIONS.
 *
 * The other way round: `users.change_user`, which this permission grants, is all NetBox's UI asks for to tick
 * "Superuser" on any user, one's own included (users/forms/model_forms.py UserForm lists `is_superuser`;
 * users/views.py UserEditView adds no check). A member can so make themselves a real superuser, and leaving the
 * superuser groups does not undo that: the gateway cannot clear `is_superuser` over REST.
 */

/** The name NetBox shows in its permissions list; the gateway finds its permission by it. */
export const SUPERUSER_PERMISSION_NAME = 'netbox-aaa-gateway: superuser groups (all objects, all actions)';

const DESCRIPTION =
  'Managed by netbox-aaa-gateway for its SUPERUSER_GROUPS in password mode: every object type, every action. ' +
  'Changes are reverted; remove the groups from SUPERUSER_GROUPS instead.';

/**
 * NetBox's four standard actions, and the custom ones NetBox's own code checks with has_perm():
 * `extras.run_script`, `core.sync_datasource`, `users.grant_token`, and `dcim.render_config_device` /
 * `virtualization.render_config_virtualmachine` (4.5+). On object types without such a check an action is inert.
 */
export const SUPERUSER_ACTIONS: readonly string[] = ['view', 'add', 'change', 'delete', 'run', 'sync', 'grant', 'render_config'];

// NetBox's OBJECTPERMISSION_OBJECT_TYPES (users/constants.py): the types its own permission form offers, so the
// permission stays editable there. 4.4+ lists carry `public`; before that NetBox filtered by application.
const PRIVATE_BUT_GRANTABLE = new Set(['core.managedfile', 'extras.scriptmodule', 'extras.taggeditem']);
const INTERNAL_APPS = new Set(['account', 'admin', 'auth', 'contenttypes', 'sessions', 'taggit', 'users']);
const GRANTABLE_USERS_MODELS = new Set(['objectpermission', 'token', 'group', 'user']);

/** The object types NetBox lets an ObjectPermission name, sorted. */
export function grantableObjectTypes(types: readonly NetboxObjectType[]): string[] {
  const byVisibility = types.some((type) => type.public !== undefined);
  const grantable = types.filter((type) =>
    byVisibility
      ? (type.public === true && type.name !== 'core.objecttype') || PRIVATE_BUT_GRANTABLE.has(type.name)
      : !INTERNAL_APPS.has(type.appLabel) || (type.appLabel === 'users' && GRANTABLE_USERS_MODELS.has(type.model)),
  );
  return [...new Set(grantable.map((type) => type.name))].sort();
}

export interface SuperuserPermissionOptions {
  readonly client: NetboxClient;
  /** The groups the permission is bound to; created when missing. */
  readonly groups: readonly string[];
  /** How long a check holds before the next superuser login checks again (an admin may have edited it). */
  readonly checkIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Keeps the gateway-managed superuser ObjectPermission in place: created at first need, then re-checked at a
 * superuser's login once `checkIntervalMs` has passed or NetBox runs another release, and repaired when it differs.
 */
export class SuperuserPermission {
  #running: Promise<void> | undefined;
  #checked: { readonly at: number; readonly version: string } | undefined;

  constructor(private readonly options: SuperuserPermissionOptions) {
    if (options.groups.length === 0) throw new Error('the superuser permission needs at least one superuser group');
  }

  /** Concurrent callers share one check. */
  ensure(): Promise<void> {
    this.#running ??= this.#checkIfDue().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #checkIfDue(): Promise<void> {
    const version = (await this.options.client.version()).text;
    const checked = this.#checked;
    if (checked && checked.version === version && Date.now() - checked.at < this.options.checkIntervalMs) return;
    await this.#check();
    this.#checked = { at: Date.now(), version };
  }

  async #check(): Promise<void> {
    const { client, logger } = this.options;
    const groups = await ensureGroups(client, this.options.groups, logger);
    const wanted = {
      description: DESCRIPTION,
      enabled: true,
      objectTypes: grantableObjectTypes(await client.listObjectTypes()),
      actions: SUPERUSER_ACTIONS,
      constraints: null,
      groupIds: groups.map((group) => group.id),
      userIds: [],
    } satisfies PermissionChanges;

    let found = await client.findPermissions(SUPERUSER_PERMISSION_NAME);
    if (found.length === 0) {
      const created = await client.createPermission({ name: SUPERUSER_PERMISSION_NAME, ...wanted });
      logger.info(
        { netboxPermissionId: created.id, groups: this.options.groups, objectTypes: wanted.objectTypes.length },
        'created the superuser ObjectPermission',
      );
      // Another replica may have created one at the same moment: names are not unique in NetBox.
      found = await client.findPermissions(SUPERUSER_PERMISSION_NAME);
    }
    // Every replica keeps the oldest, so they agree on which one survives.
    const [kept, ...duplicates] = [...found].sort((a, b) => a.id - b.id);
    if (!kept) throw new NetboxUnavailable(`NetBox lost the ObjectPermission "${SUPERUSER_PERMISSION_NAME}" right after creating it`);
    for (const duplicate of duplicates) {
      await client.deletePermission(duplicate.id);
      logger.info({ netboxPermissionId: duplicate.id, kept: kept.id }, 'deleted a duplicate superuser ObjectPermission');
    }
    const drift = differences(kept, wanted);
    if (drift.length === 0) return;
    await client.updatePermission(kept.id, wanted);
    logger.warn({ netboxPermissionId: kept.id, fields: drift }, 'the superuser ObjectPermission had been changed in NetBox; restored it');
  }
}

function differences(actual: NetboxApiPermission, wanted: Required<Omit<PermissionChanges, 'name'>>): string[] {
  const drift: string[] = [];
  if (actual.description !== wanted.description) drift.push('description');
  if (actual.enabled !== wanted.enabled) drift.push('enabled');
  if (!sameMembers(actual.objectTypes, wanted.objectTypes)) drift.push('object_types');
  if (!sameMembers(actual.actions, wanted.actions)) drift.push('actions');
  if (actual.constraints !== null) drift.push('constraints');
  if (!sameMembers(actual.groupIds, wanted.groupIds)) drift.push('groups');
  if (!sameMembers(actual.userIds, wanted.userIds)) drift.push('users');
  return drift;
}

function sameMembers<T>(a: readonly T[], b: readonly T[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}
