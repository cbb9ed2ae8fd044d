import type { Logger } from '../log.js';
import { NetboxValidationError, type NetboxApiGroup, type NetboxClient } from './client.js';
import { NetboxUnavailable } from './types.js';

/**
 * The NetBox groups named `names`, in that order, creating the missing ones. Safe against other replicas creating
 * the same group at the same moment: NetBox's "already exists" answer means someone else just did it.
 */
export async function ensureGroups(client: NetboxClient, names: readonly string[], logger: Logger): Promise<NetboxApiGroup[]> {
  if (names.length === 0) return [];
  const byName = new Map((await client.findGroups(names)).map((g) => [g.name, g]));
  const created = await Promise.all(names.filter((name) => !byName.has(name)).map((name) => createGroup(client, name, logger)));
  for (const group of created) byName.set(group.name, group);
  return names.map((name) => {
    const group = byName.get(name);
    if (!group) throw new NetboxUnavailable(`NetBox group ${name} could neither be found nor created`);
    return group;
  });
}

async function createGroup(client: NetboxClient, name: string, logger: Logger): Promise<NetboxApiGroup> {
  try {
    const group = await client.createGroup(name);
    logger.info({ group: name, netboxGroupId: group.id }, 'created NetBox group');
    return group;
  } catch (error) {
    if (!(error instanceof NetboxValidationError && error.alreadyExists)) throw error;
    const [raced] = await client.findGroups([name]);
    if (!raced) throw error;
    return raced;
  }
}
