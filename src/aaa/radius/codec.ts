/**
 * RADIUS packet codec (RFC 2865 §3-§5, RFC 2869 §5.14, RFC 3579 §3.2), for both ends: the gateway's client
 * and the test server share it, so the two cannot drift apart silently.
 *
 * Rules that keep a hostile or broken datagram from ever becoming an accept:
 * - `decodePacket` throws only `RadiusDecodeError`, and checks every length field against the bytes present.
 * - Nothing is trusted until `verifyResponse` (Response Authenticator and Message-Authenticator) says so;
 *   every comparison of secret-derived bytes is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';

import { InvalidCredentials } from '../types.js';
import { Attr, lookupAttribute, standardAttribute, vendorAttribute, type AttributeKind } from './dictionary.js';

export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
} as const;
export type RadiusCode = (typeof RadiusCode)[keyof typeof RadiusCode];

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(RadiusCode));

const HEADER_LENGTH = 20;
export const AUTHENTICATOR_LENGTH = 16;
/** RFC 2865 §3: "The minimum length is 20 and maximum length is 4096." */
const MAX_PACKET_LENGTH = 4096;
/** RFC 2865 §5: one attribute's Length octet counts itself and the Type octet. */
const MAX_ATTRIBUTE_VALUE_LENGTH = 253;
/** RFC 2865 §5.2: the hidden password is at most 128 octets. */
export const MAX_PASSWORD_LENGTH = 128;
const MESSAGE_AUTHENTICATOR_LENGTH = 16;
const PASSWORD_BLOCK = 16;

/** A datagram that is not a well-formed RADIUS packet. The only error `decodePacket` throws. */
export class RadiusDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RadiusDecodeError';
  }
}

/** Something we were asked to send cannot be expressed in RADIUS (a programming or configuration error). */
export class RadiusEncodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RadiusEncodeError';
  }
}

export interface RadiusAttribute {
  readonly type: number;
  readonly value: Buffer;
}

/** RFC 2865 §5.26 with the recommended vendor type / vendor length / value layout. */
export interface VendorSpecific {
  readonly vendorId: number;
  readonly attributes: readonly RadiusAttribute[];
}

export interface DecodedAttribute extends RadiusAttribute {
  /** Present exactly when `type` is Vendor-Specific (26). */
  readonly vendor?: VendorSpecific;
}

export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  readonly authenticator: Buffer;
  readonly attributes: readonly DecodedAttribute[];
  /** The packet's own octets (the Length field's worth; UDP padding dropped), as signed by the sender. */
  readonly raw: Buffer;
}

// ---------------------------------------------------------------------------------------------- decoding

/**
 * Parses one datagram. Octets beyond the Length field are padding and ignored (RFC 2865 §3); a Length larger
 * than the datagram, outside 20..4096, or attributes that do not tile the packet exactly are errors.
 */
export function decodePacket(datagram: Uint8Array): RadiusPacket {
  if (datagram.length < HEADER_LENGTH) {
    throw new RadiusDecodeError(`datagram of ${datagram.length} octets is shorter than a RADIUS header`);
  }
  const length = packetLength(datagram);
  if (length > datagram.length) {
    throw new RadiusDecodeError(`Length field ${length} exceeds the ${datagram.length} octets received`);
  }
  // A private copy: callers may reuse their receive buffer, and verification must see exactly these octets.
  const raw = Buffer.from(datagram.subarray(0, length));
  const code = raw[0]!;
  if (!KNOWN_CODES.has(code)) throw new RadiusDecodeError(`unknown packet code ${code}`);

  const attributes: DecodedAttribute[] = [];
  let messageAuthenticators = 0;
  for (let offset = HEADER_LENGTH; offset < length; ) {
    if (offset + 2 > length) throw new RadiusDecodeError(`attribute header at octet ${offset} is cut off`);
    const type = raw[offset]!;
    const attributeLength = raw[offset + 1]!;
    if (attributeLength < 2) {
      throw new RadiusDecodeError(`attribute ${type} at octet ${offset} has Length ${attributeLength} (< 2)`);
    }
    if (offset + attributeLength > length) {
      throw new RadiusDecodeError(`attribute ${type} at octet ${offset} runs past the end of the packet`);
    }
    const value = raw.subarray(offset + 2, offset + attributeLength);
    if (type === Attr.MessageAuthenticator) {
      if (value.length !== MESSAGE_AUTHENTICATOR_LENGTH) {
        throw new RadiusDecodeError(`Message-Authenticator has ${value.length} octets instead of 16`);
      }
      // RFC 3579 §3.2 allows at most one; a second one could smuggle a value the verifier never looks at.
      if (++messageAuthenticators > 1) throw new RadiusDecodeError('more than one Message-Authenticator');
    }
    const vendor = type === Attr.VendorSpecific ? decodeVendorSpecific(value) : undefined;
    attributes.push(vendor ? { type, value, vendor } : { type, value });
    offset += attributeLength;
  }
  return { code, identifier: raw[1]!, authenticator: raw.subarray(4, HEADER_LENGTH), attributes, raw };
}

/**
 * The Length field of the packet `head` starts with (at least its first 4 octets), checked to be 20..4096. On a
 * RadSec stream it is the only delimiter between packets (RFC 6614 §2.3), so a bad one ends the connection.
 */
export function packetLength(head: Uint8Array): number {
  const length = (head[2]! << 8) | head[3]!;
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) {
    throw new RadiusDecodeError(`Length field ${length} is outside ${HEADER_LENGTH}..${MAX_PACKET_LENGTH}`);
  }
  return length;
}

/**
 * The sub-attributes of a Vendor-Specific in RFC 2865 §5.26's recommended layout, or undefined when the vendor
 * uses another one (USR, Lucent and Starent do). The packet stays valid either way: the RFC only recommends the
 * layout, and refusing a signed reply for it would turn a server's definitive answer into server trouble.
 */
function decodeVendorSpecific(value: Buffer): VendorSpecific | undefined {
  if (value.length < 5 || value[0] !== 0) return undefined;
  const vendorId = value.readUInt32BE(0);
  const attributes: RadiusAttribute[] = [];
  for (let offset = 4; offset < value.length; ) {
    const type = value[offset]!;
    const subLength = value[offset + 1] ?? 0;
    if (subLength < 2 || offset + subLength > value.length) return undefined;
    attributes.push({ type, value: value.subarray(offset + 2, offset + subLength) });
    offset += subLength;
  }
  return { vendorId, attributes };
}

// ---------------------------------------------------------------------------------------------- encoding

function encodePacket(code: number, identifier: number, authenticator: Buffer, attributes: readonly RadiusAttribute[]): Buffer {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new RadiusEncodeError(`identifier ${identifier} is not an octet`);
  }
  if (authenticator.length !== AUTHENTICATOR_LENGTH) throw new RadiusEncodeError('authenticator must be 16 octets');
  const parts: Buffer[] = [Buffer.alloc(HEADER_LENGTH)];
  let length = HEADER_LENGTH;
  for (const attribute of attributes) {
    if (attribute.value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new RadiusEncodeError(`attribute ${attribute.type} value of ${attribute.value.length} octets exceeds 253`);
    }
    parts.push(Buffer.from([attribute.type, attribute.value.length + 2]), attribute.value);
    length += attribute.value.length + 2;
  }
  if (length > MAX_PACKET_LENGTH) throw new RadiusEncodeError(`packet of ${length} octets exceeds 4096`);
  const packet = Buffer.concat(parts, length);
  packet[0] = code;
  packet[1] = identifier;
  packet.writeUInt16BE(length, 2);
  authenticator.copy(packet, 4);
  return packet;
}

/** Octet offset of the first Message-Authenticator value in an encoded packet, or undefined. */
function messageAuthenticatorOffset(packet: Buffer): number | undefined {
  for (let offset = HEADER_LENGTH; offset + 2 <= packet.length; offset += packet[offset + 1]!) {
    if (packet[offset] === Attr.MessageAuthenticator) return offset + 2;
    if (packet[offset + 1]! < 2) return undefined;
  }
  return undefined;
}

/**
 * HMAC-MD5 keyed with the secret over the packet with the Message-Authenticator value zeroed and, for
 * replies, the request's authenticator in the header (RFC 3579 §3.2).
 */
function computeMessageAuthenticator(packet: Buffer, valueOffset: number, headerAuthenticator: Buffer, secret: string): Buffer {
  const copy = Buffer.from(packet);
  headerAuthenticator.copy(copy, 4);
  copy.fill(0, valueOffset, valueOffset + MESSAGE_AUTHENTICATOR_LENGTH);
  return createHmac('md5', secret).update(copy).digest();
}

function signMessageAuthenticator(packet: Buffer, headerAuthenticator: Buffer, secret: string): void {
  const offset = messageAuthenticatorOffset(packet);
  if (offset === undefined) return;
  computeMessageAuthenticator(packet, offset, headerAuthenticator, secret).copy(packet, offset);
}

function responseAuthenticator(packet: Buffer, requestAuthenticator: Buffer, secret: string): Buffer {
  return createHash('md5')
    .update(packet.subarray(0, 4))
    .update(requestAuthenticator)
    .update(packet.subarray(HEADER_LENGTH))
    .update(secret)
    .digest();
}

/**
 * Overwrites the header with MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3). Exported so that
 * the test server can re-sign a reply it has tampered with, to exercise the client's other checks in isolation.
 */
export function writeResponseAuthenticator(packet: Buffer, requestAuthenticator: Buffer, secret: string): void {
  responseAuthenticator(packet, requestAuthenticator, secret).copy(packet, 4);
}

/**
 * RFC 2865 §5.2 hiding: pad with NULs to a multiple of 16 (at least one block, so an empty password is 16
 * NULs), then c(i) = p(i) XOR MD5(secret + c(i-1)), with c(0) the Request Authenticator.
 */
export function hidePassword(password: string, secret: string, requestAuthenticator: Buffer): Buffer {
  const plain = Buffer.from(password, 'utf8');
  if (plain.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidCredentials(
      `the password is ${plain.length} bytes long; RADIUS can carry at most ${MAX_PASSWORD_LENGTH} bytes (RFC 2865 §5.2)`,
    );
  }
  // Servers cut the recovered password at the first NUL (FreeRADIUS does), so "secret\0junk" would be
  // checked as "secret": refuse rather than let a different password than the one typed be verified.
  if (plain.includes(0)) throw new InvalidCredentials('the password contains a NUL character, which RADIUS cannot carry');
  const padded = Buffer.alloc(Math.max(PASSWORD_BLOCK, Math.ceil(plain.length / PASSWORD_BLOCK) * PASSWORD_BLOCK));
  plain.copy(padded);
  return xorChain(padded, secret, requestAuthenticator, 'hide');
}

/**
 * The inverse of `hidePassword`, for the server side. Returns the octets with the NUL padding removed;
 * a hidden value that is not 16..128 octets in whole blocks is a `RadiusDecodeError`.
 */
export function recoverPassword(hidden: Buffer, secret: string, requestAuthenticator: Buffer): Buffer {
  if (hidden.length < PASSWORD_BLOCK || hidden.length > MAX_PASSWORD_LENGTH || hidden.length % PASSWORD_BLOCK !== 0) {
    throw new RadiusDecodeError(`hidden User-Password of ${hidden.length} octets is not 1..8 blocks of 16`);
  }
  const plain = xorChain(hidden, secret, requestAuthenticator, 'recover');
  const end = plain.indexOf(0);
  return end === -1 ? plain : plain.subarray(0, end);
}

function xorChain(input: Buffer, secret: string, requestAuthenticator: Buffer, direction: 'hide' | 'recover'): Buffer {
  const output = Buffer.alloc(input.length);
  let previous = requestAuthenticator;
  for (let block = 0; block < input.length; block += PASSWORD_BLOCK) {
    const pad = createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < PASSWORD_BLOCK; i++) output[block + i] = input[block + i]! ^ pad[i]!;
    // The chain always continues from the ciphertext block, whichever way we are going.
    previous = (direction === 'hide' ? output : input).subarray(block, block + PASSWORD_BLOCK);
  }
  return output;
}

export interface AccessRequestInput {
  readonly identifier: number;
  /** Fresh random 16 octets per new request (RFC 2865 §3); also keys the password hiding. */
  readonly authenticator: Buffer;
  readonly secret: string;
  readonly username: string;
  readonly password: string;
  /** Sent after Message-Authenticator, User-Name and User-Password, in this order. */
  readonly attributes: readonly RadiusAttribute[];
}

/**
 * An Access-Request whose FIRST attribute is a valid Message-Authenticator (the BlastRADIUS mitigation), with
 * the password hidden. Throws `InvalidCredentials` for a user name or password RADIUS cannot carry.
 */
export function encodeAccessRequest(input: AccessRequestInput): Buffer {
  const username = Buffer.from(input.username, 'utf8');
  if (username.length === 0 || username.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw new InvalidCredentials(`a RADIUS user name must be 1..${MAX_ATTRIBUTE_VALUE_LENGTH} bytes long`);
  }
  const packet = encodePacket(RadiusCode.AccessRequest, input.identifier, input.authenticator, [
    { type: Attr.MessageAuthenticator, value: Buffer.alloc(MESSAGE_AUTHENTICATOR_LENGTH) },
    { type: Attr.UserName, value: username },
    { type: Attr.UserPassword, value: hidePassword(input.password, input.secret, input.authenticator) },
    ...input.attributes,
  ]);
  signMessageAuthenticator(packet, input.authenticator, input.secret);
  return packet;
}

export interface StatusServerInput {
  readonly identifier: number;
  /** Fresh random 16 octets, as for an Access-Request. */
  readonly authenticator: Buffer;
  readonly secret: string;
  readonly attributes: readonly RadiusAttribute[];
}

/** RFC 5997 §3: a Status-Server always carries a Message-Authenticator, here the first attribute. */
export function encodeStatusServer(input: StatusServerInput): Buffer {
  const packet = encodePacket(RadiusCode.StatusServer, input.identifier, input.authenticator, [
    { type: Attr.MessageAuthenticator, value: Buffer.alloc(MESSAGE_AUTHENTICATOR_LENGTH) },
    ...input.attributes,
  ]);
  signMessageAuthenticator(packet, input.authenticator, input.secret);
  return packet;
}

export interface AccountingRequestInput {
  readonly identifier: number;
  readonly secret: string;
  readonly attributes: readonly RadiusAttribute[];
}

/**
 * An Accounting-Request whose Request Authenticator is MD5(Code+Identifier+Length+16 zero octets+Attributes+
 * Secret) (RFC 2866 §3): unlike an Access-Request's it is a keyed digest of the whole packet, so the request needs
 * no Message-Authenticator to be authentic. The reply is checked with `verifyResponse` against the authenticator
 * found in octets 4..19 of the result.
 */
export function encodeAccountingRequest(input: AccountingRequestInput): Buffer {
  const packet = encodePacket(RadiusCode.AccountingRequest, input.identifier, Buffer.alloc(AUTHENTICATOR_LENGTH), input.attributes);
  accountingRequestAuthenticator(packet, input.secret).copy(packet, 4);
  return packet;
}

function accountingRequestAuthenticator(packet: Buffer, secret: string): Buffer {
  return createHash('md5')
    .update(packet.subarray(0, 4))
    .update(Buffer.alloc(AUTHENTICATOR_LENGTH))
    .update(packet.subarray(HEADER_LENGTH))
    .update(secret)
    .digest();
}

/** Server side: was this Accounting-Request made by a holder of the secret (RFC 2866 §3)? */
export function verifyAccountingRequest(request: RadiusPacket, secret: string): boolean {
  return timingSafeEqual(accountingRequestAuthenticator(request.raw, secret), request.authenticator);
}

export interface ResponseInput {
  readonly code: RadiusCode;
  readonly identifier: number;
  readonly requestAuthenticator: Buffer;
  readonly secret: string;
  readonly attributes: readonly RadiusAttribute[];
  /** Put a Message-Authenticator first (what servers patched for BlastRADIUS do on every reply). */
  readonly messageAuthenticator: boolean;
}

/** A reply signed for the given request: Message-Authenticator first (optional), then Response Authenticator. */
export function encodeResponse(input: ResponseInput): Buffer {
  const attributes = input.messageAuthenticator
    ? [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(MESSAGE_AUTHENTICATOR_LENGTH) }, ...input.attributes]
    : input.attributes;
  const packet = encodePacket(input.code, input.identifier, input.requestAuthenticator, attributes);
  signMessageAuthenticator(packet, input.requestAuthenticator, input.secret);
  writeResponseAuthenticator(packet, input.requestAuthenticator, input.secret);
  return packet;
}

// ------------------------------------------------------------------------------------------ verification

export type MessageAuthenticatorStatus = 'valid' | 'absent' | 'invalid';

function messageAuthenticatorStatus(packet: RadiusPacket, headerAuthenticator: Buffer, secret: string): MessageAuthenticatorStatus {
  const offset = messageAuthenticatorOffset(packet.raw);
  if (offset === undefined) return 'absent';
  const expected = computeMessageAuthenticator(packet.raw, offset, headerAuthenticator, secret);
  const actual = packet.raw.subarray(offset, offset + MESSAGE_AUTHENTICATOR_LENGTH);
  return timingSafeEqual(expected, actual) ? 'valid' : 'invalid';
}

/** Server side: the Message-Authenticator of a request, keyed with its own Request Authenticator. */
export function verifyRequestMessageAuthenticator(request: RadiusPacket, secret: string): MessageAuthenticatorStatus {
  return messageAuthenticatorStatus(request, request.authenticator, secret);
}

export type ResponseCheck =
  | { readonly ok: true; readonly messageAuthenticator: 'valid' | 'absent' }
  | { readonly ok: false; readonly problem: 'response-authenticator' | 'message-authenticator' };

/**
 * Client side: is this reply really from a holder of the secret, answering the request with this
 * authenticator? Checks the Response Authenticator and, when present, the Message-Authenticator. Whether an
 * absent one is acceptable is the caller's policy.
 */
export function verifyResponse(reply: RadiusPacket, requestAuthenticator: Buffer, secret: string): ResponseCheck {
  const expected = responseAuthenticator(reply.raw, requestAuthenticator, secret);
  if (!timingSafeEqual(expected, reply.authenticator)) return { ok: false, problem: 'response-authenticator' };
  const status = messageAuthenticatorStatus(reply, requestAuthenticator, secret);
  if (status === 'invalid') return { ok: false, problem: 'message-authenticator' };
  return { ok: true, messageAuthenticator: status };
}

// ---------------------------------------------------------------------------------- names and text values

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Control characters other than tab and line breaks would let a server write into our logs and pages.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Text when the octets are valid UTF-8 without control characters, else `0x` + hex (FreeRADIUS's notation), so
 * that role rules can match readable values and binary ones stay visible in logs.
 */
export function octetsToText(value: Buffer): string {
  try {
    const text = utf8.decode(value);
    if (!CONTROL.test(text)) return text;
  } catch {
    // Not UTF-8: fall through to hex.
  }
  return `0x${value.toString('hex')}`;
}

/** RFC 2868 §3: a first octet of 0x00-0x1F is a tag; anything above is already the first octet of the text. */
const MAX_TAG = 0x1f;

/** A value whose length does not fit its type is shown as octets rather than guessed at. */
function formatValue(kind: AttributeKind, value: Buffer): string {
  if (kind === 'integer' && value.length === 4) return String(value.readUInt32BE(0));
  if (kind === 'ipv4' && value.length === 4) return [...value].join('.');
  if (kind === 'tagged-integer' && value.length === 4) return String(value.readUIntBE(1, 3));
  if (kind === 'tagged-text' && value.length > 0 && value[0]! <= MAX_TAG) return octetsToText(value.subarray(1));
  return octetsToText(value);
}

/** Kinds that never become a name and value: secrets and the codec's own machinery. */
function isShown(kind: AttributeKind): boolean {
  return kind !== 'password' && kind !== 'message-authenticator' && kind !== 'encrypted';
}

/**
 * Reply attributes as `[name, value]` pairs in packet order: dictionary names where known, `99` or
 * `26:vendor:type` otherwise; Vendor-Specific expanded into its sub-attributes. Values: text and octets as text
 * when clean UTF-8, else `0x` + hex; integers in decimal; IPv4 addresses dotted; tunnel attributes without their
 * tag. User-Password, Message-Authenticator and encrypted keys (Tunnel-Password, MS-MPPE-*) are left out.
 */
export function describeAttributes(attributes: readonly DecodedAttribute[]): Array<[name: string, value: string]> {
  const pairs: Array<[string, string]> = [];
  for (const attribute of attributes) {
    if (attribute.vendor) {
      const { vendorId } = attribute.vendor;
      for (const sub of attribute.vendor.attributes) {
        const definition = vendorAttribute(vendorId, sub.type);
        const kind = definition?.kind ?? 'octets';
        if (isShown(kind)) pairs.push([definition?.name ?? `26:${vendorId}:${sub.type}`, formatValue(kind, sub.value)]);
      }
      continue;
    }
    if (attribute.type === Attr.VendorSpecific) {
      // A vendor layout other than RFC 2865's: named by vendor, shown whole.
      const name = attribute.value.length >= 4 ? `26:${attribute.value.readUInt32BE(0)}` : '26';
      pairs.push([name, formatValue('octets', attribute.value.subarray(Math.min(4, attribute.value.length)))]);
      continue;
    }
    const definition = standardAttribute(attribute.type);
    const kind = definition?.kind ?? 'octets';
    if (isShown(kind)) pairs.push([definition?.name ?? String(attribute.type), formatValue(kind, attribute.value)]);
  }
  return pairs;
}

/**
 * One attribute from a name and value, for server replies and extra request attributes. A string is always taken
 * literally (text and octets as its UTF-8, integers in decimal, IPv4 dotted, tunnel integers with tag 0 and tunnel
 * text untagged): guessing that `0x…` meant hex turned a Class of "0x41" into "A" and "0x" into nothing. Binary
 * octets are given as bytes, and only to attributes of kind `octets`. A vendor attribute becomes its own
 * Vendor-Specific attribute.
 */
export function encodeAttribute(name: string, value: string | Uint8Array): RadiusAttribute {
  const reference = lookupAttribute(name);
  if (!reference) throw new RadiusEncodeError(`unknown RADIUS attribute name ${JSON.stringify(name)}`);
  if (reference.kind === 'password' || reference.kind === 'message-authenticator' || reference.kind === 'vendor-specific') {
    throw new RadiusEncodeError(`${reference.name} is written by the codec itself, not from a name and value`);
  }
  if (reference.kind === 'encrypted') {
    throw new RadiusEncodeError(`${reference.name} must be encrypted with the shared secret, which this codec does not do`);
  }
  const octets = parseValue(reference.kind, reference.name, value);
  if (reference.scope === 'standard') return { type: reference.type, value: octets };
  if (octets.length > MAX_ATTRIBUTE_VALUE_LENGTH - 6) {
    throw new RadiusEncodeError(`${reference.name} value of ${octets.length} octets does not fit a Vendor-Specific`);
  }
  const vsa = Buffer.alloc(6 + octets.length);
  vsa.writeUInt32BE(reference.vendorId, 0);
  vsa[4] = reference.type;
  vsa[5] = octets.length + 2;
  octets.copy(vsa, 6);
  return { type: Attr.VendorSpecific, value: vsa };
}

function parseValue(kind: 'text' | 'octets' | 'integer' | 'ipv4' | 'tagged-text' | 'tagged-integer', name: string, value: string | Uint8Array): Buffer {
  if (typeof value !== 'string') {
    // Bytes would skip the checks below (an integer of 3 octets, text that is not UTF-8), so only opaque octets take them.
    if (kind !== 'octets') throw new RadiusEncodeError(`${name} is ${kind}, written from a string, not from octets`);
    return Buffer.from(value);
  }
  switch (kind) {
    case 'integer': {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number > 0xffffffff) {
        throw new RadiusEncodeError(`${name} needs an unsigned 32-bit integer, not ${JSON.stringify(value)}`);
      }
      const octets = Buffer.alloc(4);
      octets.writeUInt32BE(number, 0);
      return octets;
    }
    case 'tagged-integer': {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number > 0xffffff) {
        throw new RadiusEncodeError(`${name} needs an unsigned 24-bit integer, not ${JSON.stringify(value)}`);
      }
      const octets = Buffer.alloc(4);
      octets.writeUIntBE(number, 1, 3);
      return octets;
    }
    case 'tagged-text': {
      const octets = Buffer.from(value, 'utf8');
      // Written untagged, which a first octet that looks like a tag would contradict.
      if (octets.length > 0 && octets[0]! <= MAX_TAG) {
        throw new RadiusEncodeError(`${name} cannot start with the control character ${JSON.stringify(value[0])}`);
      }
      return octets;
    }
    case 'ipv4':
      if (!isIPv4(value)) throw new RadiusEncodeError(`${name} needs an IPv4 address, not ${JSON.stringify(value)}`);
      return Buffer.from(value.split('.').map(Number));
    case 'octets':
    case 'text':
      return Buffer.from(value, 'utf8');
  }
}
