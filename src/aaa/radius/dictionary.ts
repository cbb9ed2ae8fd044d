/**
 * The few RADIUS attributes the gateway reads or writes, by number and name. Anything else still decodes (the
 * codec is generic TLV) and is named by number, so an unexpected attribute never makes a packet unreadable.
 */

/** How an attribute's octets are read and written (RFC 2865 §5 data types, plus the two special cases). */
export type AttributeKind =
  /** UTF-8 text (RFC 2865 "text"). */
  | 'text'
  /** Opaque octets (RFC 2865 "string"): shown as text when they are clean UTF-8, else as 0x-hex. */
  | 'octets'
  /** 32-bit unsigned, big-endian, shown in decimal. */
  | 'integer'
  /** IPv4 address, shown dotted. */
  | 'ipv4'
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
  { type: Attr.UserName, name: 'User-Name', kind: 'text' },
  { type: Attr.UserPassword, name: 'User-Password', kind: 'password' },
  { type: Attr.NasIpAddress, name: 'NAS-IP-Address', kind: 'ipv4' },
  { type: Attr.ServiceType, name: 'Service-Type', kind: 'integer' },
  { type: Attr.FilterId, name: 'Filter-Id', kind: 'text' },
  { type: Attr.ReplyMessage, name: 'Reply-Message', kind: 'text' },
  { type: Attr.State, name: 'State', kind: 'octets' },
  { type: Attr.Class, name: 'Class', kind: 'octets' },
  { type: Attr.VendorSpecific, name: 'Vendor-Specific', kind: 'vendor-specific' },
  { type: Attr.CallingStationId, name: 'Calling-Station-Id', kind: 'text' },
  { type: Attr.NasIdentifier, name: 'NAS-Identifier', kind: 'text' },
  { type: Attr.AcctStatusType, name: 'Acct-Status-Type', kind: 'integer' },
  { type: Attr.AcctSessionId, name: 'Acct-Session-Id', kind: 'text' },
  { type: Attr.AcctAuthentic, name: 'Acct-Authentic', kind: 'integer' },
  { type: Attr.AcctSessionTime, name: 'Acct-Session-Time', kind: 'integer' },
  { type: Attr.AcctTerminateCause, name: 'Acct-Terminate-Cause', kind: 'integer' },
  // RFC 2869 §5.3 "time": seconds since the Unix epoch.
  { type: Attr.EventTimestamp, name: 'Event-Timestamp', kind: 'integer' },
  { type: Attr.MessageAuthenticator, name: 'Message-Authenticator', kind: 'message-authenticator' },
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

export interface VendorAttributeDefinition {
  readonly vendorId: number;
  readonly type: number;
  readonly name: string;
  readonly kind: 'text' | 'octets' | 'integer';
}

const Vendor = { Cisco: 9 } as const;

const VENDOR_ATTRIBUTES: readonly VendorAttributeDefinition[] = [
  { vendorId: Vendor.Cisco, type: 1, name: 'Cisco-AVPair', kind: 'text' },
];

const byType = new Map(STANDARD.map((d) => [d.type, d]));
const byName = new Map(STANDARD.map((d) => [d.name.toLowerCase(), d]));
const vendorByKey = new Map(VENDOR_ATTRIBUTES.map((d) => [`${d.vendorId}:${d.type}`, d]));
const vendorByName = new Map(VENDOR_ATTRIBUTES.map((d) => [d.name.toLowerCase(), d]));

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
      readonly kind: VendorAttributeDefinition['kind'];
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
