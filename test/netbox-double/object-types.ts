// The object types (Django content types) of a stock NetBox 4.x, as its object types endpoint lists them: every
// installed model, NetBox's own and Django's. `public` is NetBox's flag (4.4+ shows it) for models meant to be
// referenced; the internal ones are what NetBox's permission form leaves out.

export interface DoubleObjectType {
  readonly id: number;
  readonly appLabel: string;
  readonly model: string;
  readonly public: boolean;
}

const PUBLIC_MODELS: Record<string, readonly string[]> = {
  circuits: ['circuit', 'circuitgroup', 'circuitgroupassignment', 'circuittermination', 'circuittype', 'provider', 'provideraccount', 'providernetwork', 'virtualcircuit', 'virtualcircuittermination', 'virtualcircuittype'],
  core: ['configrevision', 'datafile', 'datasource', 'job', 'objectchange', 'objecttype'],
  dcim: ['cable', 'consoleport', 'consoleserverport', 'device', 'devicebay', 'devicerole', 'devicetype', 'frontport', 'interface', 'inventoryitem', 'location', 'macaddress', 'manufacturer', 'module', 'modulebay', 'moduletype', 'platform', 'powerfeed', 'poweroutlet', 'powerpanel', 'powerport', 'rack', 'rackreservation', 'rackrole', 'racktype', 'rearport', 'region', 'site', 'sitegroup', 'virtualchassis', 'virtualdevicecontext'],
  extras: ['bookmark', 'configcontext', 'configtemplate', 'customfield', 'customfieldchoiceset', 'customlink', 'eventrule', 'exporttemplate', 'imageattachment', 'journalentry', 'notification', 'notificationgroup', 'savedfilter', 'script', 'subscription', 'tableconfig', 'tag', 'webhook'],
  ipam: ['aggregate', 'asn', 'asnrange', 'fhrpgroup', 'fhrpgroupassignment', 'ipaddress', 'iprange', 'prefix', 'rir', 'role', 'routetarget', 'service', 'servicetemplate', 'vlan', 'vlangroup', 'vlantranslationpolicy', 'vlantranslationrule', 'vrf'],
  tenancy: ['contact', 'contactassignment', 'contactgroup', 'contactrole', 'tenant', 'tenantgroup'],
  users: ['group', 'objectpermission', 'token', 'user'],
  virtualization: ['cluster', 'clustergroup', 'clustertype', 'virtualdisk', 'virtualmachine', 'vminterface'],
  vpn: ['ikepolicy', 'ikeproposal', 'ipsecpolicy', 'ipsecprofile', 'ipsecproposal', 'l2vpn', 'l2vpntermination', 'tunnel', 'tunnelgroup', 'tunneltermination'],
  wireless: ['wirelesslan', 'wirelesslangroup', 'wirelesslink'],
};

const INTERNAL_MODELS: Record<string, readonly string[]> = {
  auth: ['permission'],
  contenttypes: ['contenttype'],
  core: ['managedfile'],
  dcim: ['cablepath', 'cabletermination'],
  extras: ['cachedvalue', 'dashboard', 'scriptmodule', 'taggeditem'],
  sessions: ['session'],
  taggit: ['tag', 'taggeditem'],
  users: ['userconfig'],
};

function catalogue(): DoubleObjectType[] {
  const entries: Array<Omit<DoubleObjectType, 'id'>> = [];
  for (const [appLabel, models] of Object.entries(PUBLIC_MODELS)) for (const model of models) entries.push({ appLabel, model, public: true });
  for (const [appLabel, models] of Object.entries(INTERNAL_MODELS)) for (const model of models) entries.push({ appLabel, model, public: false });
  // IDs in Django's creation order (app by app), listed ordered by app_label and model as NetBox does.
  return entries
    .map((entry, index) => ({ id: index + 1, ...entry }))
    .sort((a, b) => (a.appLabel === b.appLabel ? (a.model < b.model ? -1 : 1) : a.appLabel < b.appLabel ? -1 : 1));
}

export const OBJECT_TYPES: readonly DoubleObjectType[] = catalogue();

export function objectTypeName(type: DoubleObjectType): string {
  return `${type.appLabel}.${type.model}`;
}
