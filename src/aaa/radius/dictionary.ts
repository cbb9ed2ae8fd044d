/**
 * The RADIUS dictionary: names and value types of the IETF attributes (RFC 2865, 2866, 2867, 2868, 2869) and of the
 * vendor attributes role mapping reads (Cisco, Microsoft, Aruba, Fortinet, Palo Alto, Juniper). Numbers, names and
 * types are FreeRADIUS 3.2's (its dictionary.rfc* and dictionary.<vendor> files), so that an attribute an operator
 * configured in FreeRADIUS is found here under the same name. Anything else still decodes (the codec is generic
 * TLV) and is named by number, so an unexpected attribute never makes a packet unreadable.
 */

/** How an attribute's octets are read and written (RFC 2865 §5 data types, plus the special cases). */
export type AttributeKind =
  /** UTF-8 text (RFC 2865 "text", FreeRADIUS "string"). */
  | 'text'
  /** Opaque octets (RFC 2865 "string", FreeRADIUS "octets"): shown as text when they are clean UTF-8, else as 0x-hex. */
  | 'octets'
  /** 32-bit unsigned, big-endian, shown in decimal; also RFC 2869 "time" (seconds since the Unix epoch). */
  | 'integer'
  /** IPv4 address, shown dotted. */
  | 'ipv4'
  /** RFC 2868 §3 text with an optional leading tag octet (0x00-0x1F) that groups the attributes of one tunnel. */
  | 'tagged-text'
  /** RFC 2868 §3 integer: a tag octet, then a 24-bit value. */
  | 'tagged-integer'
  /**
   * Encrypted with the shared secret (Tunnel-Password, RFC 2868 §3.5; the MS-MPPE keys, RFC 2548 §2.4): keying
   * material for the NAS's link encryption. Role mapping has no use for it and logs must never carry it, so it
   * is neither decoded nor shown.
   */
  | 'encrypted'
  /** User-Password: hidden with the shared secret (RFC 2865 §5.2); never shown. */
  | 'password'
  /** Message-Authenticator: 16 octets of HMAC-MD5 (RFC 3579 §3.2); protocol machinery, never shown. */
  | 'message-authenticator'
  /** Vendor-Specific container (RFC 2865 §5.26). */
  | 'vendor-specific';

export interface AttributeDefinition {
  readonly type: number;
  readonly name: string;
  readonly kind: AttributeKind;
}

export const Attr = {
  UserName: 1,
  UserPassword: 2,
  NasIpAddress: 4,
  ServiceType: 6,
  FilterId: 11,
  ReplyMessage: 18,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  CallingStationId: 31,
  NasIdentifier: 32,
  AcctStatusType: 40,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctTerminateCause: 49,
  EventTimestamp: 55,
  MessageAuthenticator: 80,
} as const;

const STANDARD: readonly AttributeDefinition[] = [
  // RFC 2865
  { type: Attr.UserName, name: 'User-Name', kind: 'text' },
  { type: Attr.UserPassword, name: 'User-Password', kind: 'password' },
  { type: 3, name: 'CHAP-Password', kind: 'octets' },
  { type: Attr.NasIpAddress, name: 'NAS-IP-Address', kind: 'ipv4' },
  { type: 5, name: 'NAS-Port', kind: 'integer' },
  { type: Attr.ServiceType, name: 'Service-Type', kind: 'integer' },
  { type: 7, name: 'Framed-Protocol', kind: 'integer' },
  { type: 8, name: 'Framed-IP-Address', kind: 'ipv4' },
  { type: 9, name: 'Framed-IP-Netmask', kind: 'ipv4' },
  { type: 10, name: 'Framed-Routing', kind: 'integer' },
  { type: Attr.FilterId, name: 'Filter-Id', kind: 'text' },
  { type: 12, name: 'Framed-MTU', kind: 'integer' },
  { type: 13, name: 'Framed-Compression', kind: 'integer' },
  { type: 14, name: 'Login-IP-Host', kind: 'ipv4' },
  { type: 15, name: 'Login-Service', kind: 'integer' },
  { type: 16, name: 'Login-TCP-Port', kind: 'integer' },
  { type: Attr.ReplyMessage, name: 'Reply-Message', kind: 'text' },
  { type: 19, name: 'Callback-Number', kind: 'text' },
  { type: 20, name: 'Callback-Id', kind: 'text' },
  { type: 22, name: 'Framed-Route', kind: 'text' },
  { type: 23, name: 'Framed-IPX-Network', kind: 'ipv4' },
  { type: Attr.State, name: 'State', kind: 'octets' },
  { type: Attr.Class, name: 'Class', kind: 'octets' },
  { type: Attr.VendorSpecific, name: 'Vendor-Specific', kind: 'vendor-specific' },
  { type: 27, name: 'Session-Timeout', kind: 'integer' },
  { type: 28, name: 'Idle-Timeout', kind: 'integer' },
  { type: 29, name: 'Termination-Action', kind: 'integer' },
  { type: 30, name: 'Called-Station-Id', kind: 'text' },
  { type: Attr.CallingStationId, name: 'Calling-Station-Id', kind: 'text' },
  { type: Attr.NasIdentifier, name: 'NAS-Identifier', kind: 'text' },
  { type: 33, name: 'Proxy-State', kind: 'octets' },
  { type: 34, name: 'Login-LAT-Service', kind: 'text' },
  { type: 35, name: 'Login-LAT-Node', kind: 'text' },
  { type: 36, name: 'Login-LAT-Group', kind: 'octets' },
  { type: 37, name: 'Framed-AppleTalk-Link', kind: 'integer' },
  { type: 38, name: 'Framed-AppleTalk-Network', kind: 'integer' },
  { type: 39, name: 'Framed-AppleTalk-Zone', kind: 'text' },
  // RFC 2866
  { type: Attr.AcctStatusType, name: 'Acct-Status-Type', kind: 'integer' },
  { type: 41, name: 'Acct-Delay-Time', kind: 'integer' },
  { type: 42, name: 'Acct-Input-Octets', kind: 'integer' },
  { type: 43, name: 'Acct-Output-Octets', kind: 'integer' },
  { type: Attr.AcctSessionId, name: 'Acct-Session-Id', kind: 'text' },
  { type: Attr.AcctAuthentic, name: 'Acct-Authentic', kind: 'integer' },
  { type: Attr.AcctSessionTime, name: 'Acct-Session-Time', kind: 'integer' },
  { type: 47, name: 'Acct-Input-Packets', kind: 'integer' },
  { type: 48, name: 'Acct-Output-Packets', kind: 'integer' },
  { type: Attr.AcctTerminateCause, name: 'Acct-Terminate-Cause', kind: 'integer' },
  { type: 50, name: 'Acct-Multi-Session-Id', kind: 'text' },
  { type: 51, name: 'Acct-Link-Count', kind: 'integer' },
  // RFC 2869
  { type: 52, name: 'Acct-Input-Gigawords', kind: 'integer' },
  { type: 53, name: 'Acct-Output-Gigawords', kind: 'integer' },
  { type: Attr.EventTimestamp, name: 'Event-Timestamp', kind: 'integer' },
  // RFC 2865
  { type: 60, name: 'CHAP-Challenge', kind: 'octets' },
  { type: 61, name: 'NAS-Port-Type', kind: 'integer' },
  { type: 62, name: 'Port-Limit', kind: 'integer' },
  { type: 63, name: 'Login-LAT-Port', kind: 'text' },
  // RFC 2868 and RFC 2867 (tunnel attributes, which NPS and ISE send for VLAN assignment)
  { type: 64, name: 'Tunnel-Type', kind: 'tagged-integer' },
  { type: 65, name: 'Tunnel-Medium-Type', kind: 'tagged-integer' },
  { type: 66, name: 'Tunnel-Client-Endpoint', kind: 'tagged-text' },
  { type: 67, name: 'Tunnel-Server-Endpoint', kind: 'tagged-text' },
  { type: 68, name: 'Acct-Tunnel-Connection', kind: 'text' },
  { type: 69, name: 'Tunnel-Password', kind: 'encrypted' },
  // RFC 2869
  { type: 70, name: 'ARAP-Password', kind: 'octets' },
  { type: 71, name: 'ARAP-Features', kind: 'octets' },
  { type: 72, name: 'ARAP-Zone-Access', kind: 'integer' },
  { type: 73, name: 'ARAP-Security', kind: 'integer' },
  { type: 74, name: 'ARAP-Security-Data', kind: 'text' },
  { type: 75, name: 'Password-Retry', kind: 'integer' },
  { type: 76, name: 'Prompt', kind: 'integer' },
  { type: 77, name: 'Connect-Info', kind: 'text' },
  { type: 78, name: 'Configuration-Token', kind: 'text' },
  { type: 79, name: 'EAP-Message', kind: 'octets' },
  { type: Attr.MessageAuthenticator, name: 'Message-Authenticator', kind: 'message-authenticator' },
  { type: 81, name: 'Tunnel-Private-Group-Id', kind: 'tagged-text' },
  { type: 82, name: 'Tunnel-Assignment-Id', kind: 'tagged-text' },
  { type: 83, name: 'Tunnel-Preference', kind: 'tagged-integer' },
  { type: 84, name: 'ARAP-Challenge-Response', kind: 'octets' },
  { type: 85, name: 'Acct-Interim-Interval', kind: 'integer' },
  { type: 86, name: 'Acct-Tunnel-Packets-Lost', kind: 'integer' },
  { type: 87, name: 'NAS-Port-Id', kind: 'text' },
  { type: 88, name: 'Framed-Pool', kind: 'text' },
  { type: 90, name: 'Tunnel-Client-Auth-Id', kind: 'tagged-text' },
  { type: 91, name: 'Tunnel-Server-Auth-Id', kind: 'tagged-text' },
];

/** RFC 2865 §5.6 values the gateway sends. */
export const ServiceType = {
  Login: 1,
} as const;

/** RFC 2866 §5.1. */
export const AcctStatusType = {
  Start: 1,
  Stop: 2,
} as const;

/** RFC 2866 §5.6: the user was authenticated by RADIUS. */
export const AcctAuthentic = {
  Radius: 1,
} as const;

/** RFC 2866 §5.10, the values the gateway's session ends map to. */
export const AcctTerminateCause = {
  UserRequest: 1,
  IdleTimeout: 4,
  SessionTimeout: 5,
  AdminReset: 6,
} as const;

/** The value types vendor attributes use: no tags, no password hiding, no nested containers. */
export type VendorAttributeKind = Extract<AttributeKind, 'text' | 'octets' | 'integer' | 'ipv4' | 'encrypted'>;

export interface VendorAttributeDefinition {
  readonly vendorId: number;
  readonly type: number;
  readonly name: string;
  readonly kind: VendorAttributeKind;
}

/** SMI Network Management Private Enterprise Codes (IANA), as Vendor-Id of a Vendor-Specific attribute. */
export const Vendor = {
  Cisco: 9,
  Microsoft: 311,
  Juniper: 2636,
  Fortinet: 12356,
  Aruba: 14823,
  PaloAlto: 25461,
} as const;

/**
 * Vendor attributes by vendor. Not every attribute of FreeRADIUS's files: the ones seen in Access-Accepts for
 * administrator and user logins (roles, groups, privileges, profiles, addresses, session limits). Voice, DHCP and
 * broadband accounting attributes stay numbered (`26:9:23`) rather than named from a guess at their type.
 */
const VENDOR_ATTRIBUTES: ReadonlyArray<readonly [vendorId: number, ReadonlyArray<readonly [type: number, name: string, kind: VendorAttributeKind]>]> = [
  [Vendor.Cisco, [
    [1, 'Cisco-AVPair', 'text'],
    [2, 'Cisco-NAS-Port', 'text'],
    [37, 'Cisco-Policy-Up', 'text'],
    [38, 'Cisco-Policy-Down', 'text'],
    [51, 'Cisco-Service-Name', 'text'],
    [52, 'Cisco-Parent-Session-Id', 'text'],
    [57, 'Cisco-In-ACL', 'text'],
    [58, 'Cisco-Out-ACL', 'text'],
    [61, 'Cisco-IPv6-In-ACL', 'text'],
    [62, 'Cisco-IPv6-Out-ACL', 'text'],
    [250, 'Cisco-Account-Info', 'text'],
    [251, 'Cisco-Service-Info', 'text'],
    [252, 'Cisco-Command-Code', 'text'],
    [253, 'Cisco-Control-Info', 'text'],
  ]],
  // RFC 2548 and FreeRADIUS's additions for NPS.
  [Vendor.Microsoft, [
    [1, 'MS-CHAP-Response', 'octets'],
    [2, 'MS-CHAP-Error', 'text'],
    [7, 'MS-MPPE-Encryption-Policy', 'integer'],
    [8, 'MS-MPPE-Encryption-Types', 'integer'],
    [9, 'MS-RAS-Vendor', 'integer'],
    [10, 'MS-CHAP-Domain', 'text'],
    [11, 'MS-CHAP-Challenge', 'octets'],
    [12, 'MS-CHAP-MPPE-Keys', 'encrypted'],
    [13, 'MS-BAP-Usage', 'integer'],
    [14, 'MS-Link-Utilization-Threshold', 'integer'],
    [15, 'MS-Link-Drop-Time-Limit', 'integer'],
    [16, 'MS-MPPE-Send-Key', 'encrypted'],
    [17, 'MS-MPPE-Recv-Key', 'encrypted'],
    [18, 'MS-RAS-Version', 'text'],
    [22, 'MS-Filter', 'octets'],
    [23, 'MS-Acct-Auth-Type', 'integer'],
    [24, 'MS-Acct-EAP-Type', 'integer'],
    [25, 'MS-CHAP2-Response', 'octets'],
    [26, 'MS-CHAP2-Success', 'octets'],
    [28, 'MS-Primary-DNS-Server', 'ipv4'],
    [29, 'MS-Secondary-DNS-Server', 'ipv4'],
    [30, 'MS-Primary-NBNS-Server', 'ipv4'],
    [31, 'MS-Secondary-NBNS-Server', 'ipv4'],
    [34, 'MS-RAS-Client-Name', 'text'],
    [35, 'MS-RAS-Client-Version', 'text'],
    [36, 'MS-Quarantine-IPFilter', 'octets'],
    [37, 'MS-Quarantine-Session-Timeout', 'integer'],
    [40, 'MS-User-Security-Identity', 'text'],
    [41, 'MS-Identity-Type', 'integer'],
    [42, 'MS-Service-Class', 'text'],
    [44, 'MS-Quarantine-User-Class', 'text'],
    [45, 'MS-Quarantine-State', 'integer'],
    [46, 'MS-Quarantine-Grace-Time', 'integer'],
    [47, 'MS-Network-Access-Server-Type', 'integer'],
    [50, 'MS-Machine-Name', 'text'],
    [58, 'MS-HCAP-User-Groups', 'text'],
    [59, 'MS-HCAP-Location-Group-Name', 'text'],
    [60, 'MS-HCAP-User-Name', 'text'],
    [61, 'MS-User-IPv4-Address', 'ipv4'],
  ]],
  [Vendor.Juniper, [
    [1, 'Juniper-Local-User-Name', 'text'],
    [2, 'Juniper-Allow-Commands', 'text'],
    [3, 'Juniper-Deny-Commands', 'text'],
    [4, 'Juniper-Allow-Configuration', 'text'],
    [5, 'Juniper-Deny-Configuration', 'text'],
    [8, 'Juniper-Interactive-Command', 'text'],
    [9, 'Juniper-Configuration-Change', 'text'],
    [10, 'Juniper-User-Permissions', 'text'],
    [11, 'Juniper-Junosspace-Profile', 'text'],
    [21, 'Juniper-CTP-Group', 'integer'],
    [22, 'Juniper-CTPView-APP-Group', 'integer'],
    [23, 'Juniper-CTPView-OS-Group', 'integer'],
    [46, 'Juniper-Local-Group-Name', 'text'],
    [52, 'Juniper-AV-Pair', 'text'],
  ]],
  [Vendor.Fortinet, [
    [1, 'Fortinet-Group-Name', 'text'],
    [2, 'Fortinet-Client-IP-Address', 'ipv4'],
    [3, 'Fortinet-Vdom-Name', 'text'],
    [4, 'Fortinet-Client-IPv6-Address', 'octets'],
    [5, 'Fortinet-Interface-Name', 'text'],
    [6, 'Fortinet-Access-Profile', 'text'],
    [7, 'Fortinet-SSID', 'text'],
    [8, 'Fortinet-AP-Name', 'text'],
    [11, 'Fortinet-FAC-Auth-Status', 'text'],
    [12, 'Fortinet-FAC-Token-ID', 'text'],
    [15, 'Fortinet-FAC-Challenge-Code', 'text'],
    [26, 'Fortinet-FortiWAN-AVPair', 'text'],
    [30, 'Fortinet-FDD-Access-Profile', 'text'],
    [33, 'Fortinet-FDD-Is-System-Admin', 'text'],
    [40, 'Fortinet-Fpc-User-Role', 'text'],
    [41, 'Fortinet-Tenant-Identification', 'text'],
    [42, 'Fortinet-Host-Port-AVPair', 'text'],
  ]],
  [Vendor.Aruba, [
    [1, 'Aruba-User-Role', 'text'],
    [2, 'Aruba-User-Vlan', 'integer'],
    [3, 'Aruba-Priv-Admin-User', 'integer'],
    [4, 'Aruba-Admin-Role', 'text'],
    [5, 'Aruba-Essid-Name', 'text'],
    [6, 'Aruba-Location-Id', 'text'],
    [7, 'Aruba-Port-Identifier', 'text'],
    [8, 'Aruba-MMS-User-Template', 'text'],
    [9, 'Aruba-Named-User-Vlan', 'text'],
    [10, 'Aruba-AP-Group', 'text'],
    [12, 'Aruba-Device-Type', 'text'],
    [23, 'Aruba-CPPM-Role', 'text'],
    [36, 'Aruba-User-Group', 'text'],
    [42, 'Aruba-Admin-Path', 'text'],
    [44, 'Aruba-MPSK-Passphrase', 'encrypted'],
    [46, 'Aruba-Command-String', 'text'],
    [47, 'Aruba-Network-Profile', 'text'],
    [48, 'Aruba-Admin-Device-Group', 'text'],
  ]],
  [Vendor.PaloAlto, [
    [1, 'PaloAlto-Admin-Role', 'text'],
    [2, 'PaloAlto-Admin-Access-Domain', 'text'],
    [3, 'PaloAlto-Panorama-Admin-Role', 'text'],
    [4, 'PaloAlto-Panorama-Admin-Access-Domain', 'text'],
    [5, 'PaloAlto-User-Group', 'text'],
    [6, 'PaloAlto-User-Domain', 'text'],
    [7, 'PaloAlto-Client-Source-IP', 'text'],
    [8, 'PaloAlto-Client-OS', 'text'],
    [9, 'PaloAlto-Client-Hostname', 'text'],
    [10, 'PaloAlto-GlobalProtect-Client-Version', 'text'],
  ]],
];

const VENDOR_DEFINITIONS: readonly VendorAttributeDefinition[] = VENDOR_ATTRIBUTES.flatMap(([vendorId, attributes]) =>
  attributes.map(([type, name, kind]) => ({ vendorId, type, name, kind })),
);

const byType = new Map(STANDARD.map((d) => [d.type, d]));
const byName = new Map(STANDARD.map((d) => [d.name.toLowerCase(), d]));
const vendorByKey = new Map(VENDOR_DEFINITIONS.map((d) => [`${d.vendorId}:${d.type}`, d]));
const vendorByName = new Map(VENDOR_DEFINITIONS.map((d) => [d.name.toLowerCase(), d]));

export function standardAttribute(type: number): AttributeDefinition | undefined {
  return byType.get(type);
}

export function vendorAttribute(vendorId: number, type: number): VendorAttributeDefinition | undefined {
  return vendorByKey.get(`${vendorId}:${type}`);
}

/**
 * What a name used in configuration or test user tables stands for: a dictionary name (any case), a bare
 * number `99` for an unknown standard attribute, or `26:vendor:type` for an unknown vendor attribute. The
 * numeric forms are exactly the names the client puts into an AttributeBag for attributes it does not know.
 */
export type AttributeReference =
  | { readonly scope: 'standard'; readonly type: number; readonly name: string; readonly kind: AttributeKind }
  | {
      readonly scope: 'vendor';
      readonly vendorId: number;
      readonly type: number;
      readonly name: string;
      readonly kind: VendorAttributeKind;
    };

export function lookupAttribute(name: string): AttributeReference | undefined {
  const known = byName.get(name.toLowerCase());
  if (known) return { scope: 'standard', ...known };
  const vendor = vendorByName.get(name.toLowerCase());
  if (vendor) return { scope: 'vendor', ...vendor };
  const numeric = /^(\d{1,3})$/.exec(name);
  if (numeric) {
    const type = Number(numeric[1]);
    // 26 alone cannot be written as a plain value: it needs a vendor id, hence the `26:v:t` form.
    if (type >= 1 && type <= 255 && type !== Attr.VendorSpecific) {
      return { scope: 'standard', type, name, kind: standardAttribute(type)?.kind ?? 'octets' };
    }
    return undefined;
  }
  const vsa = /^26:(\d{1,10}):(\d{1,3})$/.exec(name);
  if (vsa) {
    const vendorId = Number(vsa[1]);
    const type = Number(vsa[2]);
    if (vendorId <= 0xffffff && type <= 255) {
      return { scope: 'vendor', vendorId, type, name, kind: vendorAttribute(vendorId, type)?.kind ?? 'octets' };
    }
  }
  return undefined;
}
