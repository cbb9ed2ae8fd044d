/**
 * TACACS+ packet codec (RFC 8907 §4-§8, RFC 9887 §4), for both ends: the gateway's client and the test server
 * share it, so the two cannot drift apart silently.
 *
 * Rules that keep a hostile or broken packet from ever becoming a PASS:
 * - every decoder throws only `TacacsProtocolError`, and checks the header length against the bytes present
 *   and the sum of every inner length field against the body length (§4.5: a wrong key shows up exactly there);
 * - status values outside the RFC's lists are errors, not "something like a PASS".
 * The obfuscation is no integrity protection: XOR is malleable, so an on-path attacker who flips the right bits
 * turns a FAIL into a PASS without knowing the key. Only TLS (RFC 9887) protects against that.
 */
import { createHash } from 'node:crypto';

export const HEADER_LENGTH = 12;
/** RFC 8907 §4.1 recommends 2^16 as the largest packet accepted; our own packets are a few hundred bytes. */
const MAX_BODY_LENGTH = 0x10000;
/** seq_no is one octet and never wraps (§4.1). */
export const MAX_SEQ_NO = 255;

/** Major version 0xc; minor 1 only for PAP/CHAP/MS-CHAP authentication (§5.4.1). */
export const Version = { Default: 0xc0, One: 0xc1 } as const;
export const PacketType = { Authentication: 0x01, Authorization: 0x02, Accounting: 0x03 } as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];
/** The only header flag we act on. Single-connect (0x04) is never offered, so it is ignored like any other bit (§4.1, §4.3). */
export const HeaderFlag = { Unencrypted: 0x01 } as const;

export const AuthenAction = { Login: 0x01 } as const;
export const AuthenType = { Ascii: 0x01, Pap: 0x02, Chap: 0x03 } as const;
export const AuthenService = { Login: 0x01 } as const;
export const AuthenMethod = { TacacsPlus: 0x06 } as const;
/** §9: TAC_PLUS_PRIV_LVL_USER, an ordinary user. */
export const PrivLevel = { User: 0x01 } as const;

export const AuthenStatus = {
  Pass: 0x01,
  Fail: 0x02,
  GetData: 0x03,
  GetUser: 0x04,
  GetPass: 0x05,
  Restart: 0x06,
  Error: 0x07,
  Follow: 0x21,
} as const;
export type AuthenStatus = (typeof AuthenStatus)[keyof typeof AuthenStatus];
export const AuthenReplyFlag = { NoEcho: 0x01 } as const;

export const AuthorStatus = { PassAdd: 0x01, PassRepl: 0x02, Fail: 0x10, Error: 0x11, Follow: 0x21 } as const;
export type AuthorStatus = (typeof AuthorStatus)[keyof typeof AuthorStatus];

export const AcctFlag = { Start: 0x02, Stop: 0x04, Watchdog: 0x08 } as const;
export const AcctStatus = { Success: 0x01, Error: 0x02, Follow: 0x21 } as const;
export type AcctStatus = (typeof AcctStatus)[keyof typeof AcctStatus];

const AUTHEN_STATUSES: ReadonlySet<number> = new Set(Object.values(AuthenStatus));
const AUTHOR_STATUSES: ReadonlySet<number> = new Set(Object.values(AuthorStatus));
const ACCT_STATUSES: ReadonlySet<number> = new Set(Object.values(AcctStatus));
const PACKET_TYPES: ReadonlySet<number> = new Set(Object.values(PacketType));

/** Bytes that are not a well-formed TACACS+ packet (or not the one expected). The only error decoders throw. */
export class TacacsProtocolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TacacsProtocolError';
  }
}

/** Something we were asked to send cannot be expressed in TACACS+ (a programming or configuration error). */
export class TacacsEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TacacsEncodeError';
  }
}

export interface TacacsHeader {
  /** The whole version octet: major << 4 | minor. */
  readonly version: number;
  readonly type: PacketType;
  readonly seqNo: number;
  readonly flags: number;
  /** The four session_id octets as an unsigned big-endian number. */
  readonly sessionId: number;
  /** Body length. */
  readonly length: number;
}

export interface TacacsPacket {
  readonly header: TacacsHeader;
  /** The body in the clear (de-obfuscated when the unencrypted flag was not set). */
  readonly body: Buffer;
}

/** Reads the 12 clear header octets; `bytes` may hold more (the body, or the start of it). */
export function decodeHeader(bytes: Uint8Array): TacacsHeader {
  if (bytes.length < HEADER_LENGTH) throw new TacacsProtocolError(`a header is ${HEADER_LENGTH} bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_LENGTH);
  const version = view[0]!;
  const type = view[1]!;
  const seqNo = view[2]!;
  if (version >> 4 !== 0xc || (version & 0x0f) > 1) throw new TacacsProtocolError(`unknown version 0x${version.toString(16)}`);
  if (!PACKET_TYPES.has(type)) throw new TacacsProtocolError(`unknown packet type ${type}`);
  if (seqNo === 0) throw new TacacsProtocolError('seq_no 0 (sessions start at 1)');
  const length = view.readUInt32BE(8);
  if (length > MAX_BODY_LENGTH) throw new TacacsProtocolError(`body length ${length} exceeds ${MAX_BODY_LENGTH}`);
  return { version, type: type as PacketType, seqNo, flags: view[3]!, sessionId: view.readUInt32BE(4), length };
}

/**
 * A whole packet: header, then the body obfuscated with `key` unless the header sets the unencrypted flag
 * (RFC 9887 TLS, or a fault a test server simulates). The caller picks the flags; this only refuses what cannot
 * be sent.
 */
export function encodePacket(header: Omit<TacacsHeader, 'length'>, body: Uint8Array, key: string | undefined): Buffer {
  if (!Number.isInteger(header.seqNo) || header.seqNo < 1 || header.seqNo > MAX_SEQ_NO) {
    throw new TacacsEncodeError(`seq_no ${header.seqNo} is outside 1..${MAX_SEQ_NO} (it never wraps)`);
  }
  if (body.length > MAX_BODY_LENGTH) throw new TacacsEncodeError(`body of ${body.length} bytes exceeds ${MAX_BODY_LENGTH}`);
  const unencrypted = (header.flags & HeaderFlag.Unencrypted) !== 0;
  if (!unencrypted && key === undefined) throw new TacacsEncodeError('an obfuscated body needs a key');
  const packet = Buffer.alloc(HEADER_LENGTH + body.length);
  packet[0] = header.version;
  packet[1] = header.type;
  packet[2] = header.seqNo;
  packet[3] = header.flags;
  packet.writeUInt32BE(header.sessionId >>> 0, 4);
  packet.writeUInt32BE(body.length, 8);
  packet.set(body, HEADER_LENGTH);
  if (!unencrypted) xorPad(packet.subarray(HEADER_LENGTH), packet, key!);
  return packet;
}

/**
 * Exactly one packet (12 + length bytes, no more, no less). The body is de-obfuscated with `key` when the
 * unencrypted flag is clear; whether that flag is acceptable at all is the caller's decision (RFC 8907 §10.5.2,
 * RFC 9887 §4), made before looking at the body.
 */
export function decodePacket(bytes: Uint8Array, key: string | undefined): TacacsPacket {
  const header = decodeHeader(bytes);
  if (bytes.length !== HEADER_LENGTH + header.length) {
    throw new TacacsProtocolError(`header says ${header.length} body bytes, ${bytes.length - HEADER_LENGTH} present`);
  }
  const body = Buffer.from(bytes.subarray(HEADER_LENGTH));
  if ((header.flags & HeaderFlag.Unencrypted) === 0) {
    if (key === undefined) throw new TacacsProtocolError('the body is obfuscated but no key is configured');
    xorPad(body, Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_LENGTH), key);
  }
  return { header, body };
}

/**
 * RFC 8907 §4.5: XOR with MD5_1 = MD5{session_id, key, version, seq_no}, MD5_n = MD5{..., MD5_n-1}, truncated
 * to the body length. Its own inverse. `header` supplies session_id, version and seq_no as sent on the wire.
 */
function xorPad(body: Buffer, header: Buffer, key: string): void {
  const prefix = Buffer.concat([header.subarray(4, 8), Buffer.from(key, 'utf8'), header.subarray(0, 1), header.subarray(2, 3)]);
  let previous: Buffer | undefined;
  for (let offset = 0; offset < body.length; offset += 16) {
    const md5 = createHash('md5').update(prefix);
    if (previous) md5.update(previous);
    previous = md5.digest();
    for (let i = 0; i < 16 && offset + i < body.length; i++) body[offset + i] = body[offset + i]! ^ previous[i]!;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies. Text fields are UTF-8 (usernames per RFC 8265; everything else is US-ASCII, a subset).

export interface AuthenStart {
  readonly action: number;
  readonly privLvl: number;
  readonly authenType: number;
  readonly authenService: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  readonly data: Uint8Array;
}

export interface AuthenReply {
  readonly status: AuthenStatus;
  readonly flags: number;
  readonly serverMsg: string;
  readonly data: Buffer;
}

export interface AuthenContinue {
  readonly userMsg: string;
  readonly data: Uint8Array;
  readonly flags: number;
}

export interface AuthorRequest {
  readonly authenMethod: number;
  readonly privLvl: number;
  readonly authenType: number;
  readonly authenService: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  /** `name=value` (mandatory) or `name*value` (optional), as on the wire. */
  readonly args: readonly string[];
}

export interface AuthorReply {
  readonly status: AuthorStatus;
  readonly serverMsg: string;
  readonly data: string;
  readonly args: readonly string[];
}

export interface AcctRequest extends AuthorRequest {
  readonly flags: number;
}

export interface AcctReply {
  readonly status: AcctStatus;
  readonly serverMsg: string;
  readonly data: string;
}

/** §5.1 */
export function encodeAuthenStart(start: AuthenStart): Buffer {
  const [user, port, remAddr, data] = [text(start.user), text(start.port), text(start.remAddr), Buffer.from(start.data)];
  const fixed = [start.action, start.privLvl, start.authenType, start.authenService, len8(user, 'user'), len8(port, 'port'), len8(remAddr, 'rem_addr'), len8(data, 'data')];
  return Buffer.concat([octets(fixed), user, port, remAddr, data]);
}

export function decodeAuthenStart(body: Buffer): AuthenStart {
  const reader = new FieldReader(body, 'authentication START', 8);
  const [action, privLvl, authenType, authenService, userLen, portLen, remAddrLen, dataLen] = reader.octets(8);
  const [user, port, remAddr, data] = reader.fields([userLen!, portLen!, remAddrLen!, dataLen!]);
  return {
    action: action!,
    privLvl: privLvl!,
    authenType: authenType!,
    authenService: authenService!,
    user: user!.toString('utf8'),
    port: port!.toString('utf8'),
    remAddr: remAddr!.toString('utf8'),
    data: data!,
  };
}

/** §5.2 */
export function encodeAuthenReply(reply: { status: AuthenStatus; flags?: number; serverMsg?: string; data?: Uint8Array }): Buffer {
  const serverMsg = text(reply.serverMsg ?? '');
  const data = Buffer.from(reply.data ?? []);
  const fixed = Buffer.alloc(6);
  fixed[0] = reply.status;
  fixed[1] = reply.flags ?? 0;
  fixed.writeUInt16BE(len16(serverMsg, 'server_msg'), 2);
  fixed.writeUInt16BE(len16(data, 'data'), 4);
  return Buffer.concat([fixed, serverMsg, data]);
}

export function decodeAuthenReply(body: Buffer): AuthenReply {
  const reader = new FieldReader(body, 'authentication REPLY', 6);
  const [status, flags] = reader.octets(2);
  const [serverMsg, data] = reader.fields([reader.u16(), reader.u16()]);
  return { status: known(status!, AUTHEN_STATUSES, 'authentication') as AuthenStatus, flags: flags!, serverMsg: serverMsg!.toString('utf8'), data: data! };
}

/** §5.3 */
export function encodeAuthenContinue(cont: AuthenContinue): Buffer {
  const userMsg = text(cont.userMsg);
  const data = Buffer.from(cont.data);
  const fixed = Buffer.alloc(5);
  fixed.writeUInt16BE(len16(userMsg, 'user_msg'), 0);
  fixed.writeUInt16BE(len16(data, 'data'), 2);
  fixed[4] = cont.flags;
  return Buffer.concat([fixed, userMsg, data]);
}

export function decodeAuthenContinue(body: Buffer): AuthenContinue {
  const reader = new FieldReader(body, 'authentication CONTINUE', 5);
  const userMsgLen = reader.u16();
  const dataLen = reader.u16();
  const [flags] = reader.octets(1);
  const [userMsg, data] = reader.fields([userMsgLen, dataLen]);
  return { userMsg: userMsg!.toString('utf8'), data: data!, flags: flags! };
}

/** §6.1 */
export function encodeAuthorRequest(request: AuthorRequest): Buffer {
  return encodeArgumentRequest([request.authenMethod, request.privLvl, request.authenType, request.authenService], request);
}

export function decodeAuthorRequest(body: Buffer): AuthorRequest {
  const { fixed, fields } = decodeArgumentRequest(body, 'authorization REQUEST', 4);
  const [authenMethod, privLvl, authenType, authenService] = fixed;
  return { authenMethod: authenMethod!, privLvl: privLvl!, authenType: authenType!, authenService: authenService!, ...fields };
}

/** §6.2 */
export function encodeAuthorReply(reply: { status: AuthorStatus; serverMsg?: string; data?: string; args?: readonly string[] }): Buffer {
  const serverMsg = text(reply.serverMsg ?? '');
  const data = text(reply.data ?? '');
  const args = (reply.args ?? []).map(text);
  const fixed = Buffer.alloc(6);
  fixed[0] = reply.status;
  fixed[1] = count8(args.length);
  fixed.writeUInt16BE(len16(serverMsg, 'server_msg'), 2);
  fixed.writeUInt16BE(len16(data, 'data'), 4);
  return Buffer.concat([fixed, octets(args.map((a, i) => len8(a, `arg ${i + 1}`))), serverMsg, data, ...args]);
}

export function decodeAuthorReply(body: Buffer): AuthorReply {
  const reader = new FieldReader(body, 'authorization REPLY', 6);
  const [status, argCnt] = reader.octets(2);
  const serverMsgLen = reader.u16();
  const dataLen = reader.u16();
  const argLens = reader.octets(argCnt!);
  const [serverMsg, data, ...args] = reader.fields([serverMsgLen, dataLen, ...argLens]);
  return {
    status: known(status!, AUTHOR_STATUSES, 'authorization') as AuthorStatus,
    serverMsg: serverMsg!.toString('utf8'),
    data: data!.toString('utf8'),
    args: args.map((a) => a.toString('utf8')),
  };
}

/** §7.1 */
export function encodeAcctRequest(request: AcctRequest): Buffer {
  return encodeArgumentRequest([request.flags, request.authenMethod, request.privLvl, request.authenType, request.authenService], request);
}

export function decodeAcctRequest(body: Buffer): AcctRequest {
  const { fixed, fields } = decodeArgumentRequest(body, 'accounting REQUEST', 5);
  const [flags, authenMethod, privLvl, authenType, authenService] = fixed;
  const start = (flags! & AcctFlag.Start) !== 0;
  const stop = (flags! & AcctFlag.Stop) !== 0;
  // §7.1: START and STOP are mutually exclusive, STOP excludes WATCHDOG, and one of the three is always set.
  if ((start && stop) || (stop && (flags! & AcctFlag.Watchdog) !== 0) || (flags! & (AcctFlag.Start | AcctFlag.Stop | AcctFlag.Watchdog)) === 0) {
    throw new TacacsProtocolError(`accounting flags 0x${flags!.toString(16)} are not a valid combination`);
  }
  return { flags: flags!, authenMethod: authenMethod!, privLvl: privLvl!, authenType: authenType!, authenService: authenService!, ...fields };
}

/** §7.2 */
export function encodeAcctReply(reply: { status: AcctStatus; serverMsg?: string; data?: string }): Buffer {
  const serverMsg = text(reply.serverMsg ?? '');
  const data = text(reply.data ?? '');
  const fixed = Buffer.alloc(5);
  fixed.writeUInt16BE(len16(serverMsg, 'server_msg'), 0);
  fixed.writeUInt16BE(len16(data, 'data'), 2);
  fixed[4] = reply.status;
  return Buffer.concat([fixed, serverMsg, data]);
}

export function decodeAcctReply(body: Buffer): AcctReply {
  const reader = new FieldReader(body, 'accounting REPLY', 5);
  const serverMsgLen = reader.u16();
  const dataLen = reader.u16();
  const [status] = reader.octets(1);
  const [serverMsg, data] = reader.fields([serverMsgLen, dataLen]);
  return { status: known(status!, ACCT_STATUSES, 'accounting') as AcctStatus, serverMsg: serverMsg!.toString('utf8'), data: data!.toString('utf8') };
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments (§6.1): `name=value` is mandatory, `name*value` optional. The name holds neither separator; the
// value may hold both and may be empty.

export interface TacacsArgument {
  readonly name: string;
  readonly value: string;
  readonly mandatory: boolean;
}

export function parseArgument(arg: string): TacacsArgument {
  const separator = arg.search(/[=*]/);
  if (separator <= 0) throw new TacacsProtocolError(`argument ${JSON.stringify(arg)} has no name before a '=' or '*'`);
  return { name: arg.slice(0, separator), value: arg.slice(separator + 1), mandatory: arg[separator] === '=' };
}

// ---------------------------------------------------------------------------------------------------------------

/** Authorization and accounting REQUESTs share everything after their leading fixed octets. */
function encodeArgumentRequest(leading: readonly number[], request: AuthorRequest): Buffer {
  const [user, port, remAddr] = [text(request.user), text(request.port), text(request.remAddr)];
  const args = request.args.map(text);
  const fixed = [...leading, len8(user, 'user'), len8(port, 'port'), len8(remAddr, 'rem_addr'), count8(args.length)];
  return Buffer.concat([octets(fixed), octets(args.map((a, i) => len8(a, `arg ${i + 1}`))), user, port, remAddr, ...args]);
}

function decodeArgumentRequest(
  body: Buffer,
  what: string,
  leadingCount: number,
): { fixed: number[]; fields: { user: string; port: string; remAddr: string; args: string[] } } {
  const reader = new FieldReader(body, what, leadingCount + 4);
  const fixed = reader.octets(leadingCount);
  const [userLen, portLen, remAddrLen, argCnt] = reader.octets(4);
  const argLens = reader.octets(argCnt!);
  const [user, port, remAddr, ...args] = reader.fields([userLen!, portLen!, remAddrLen!, ...argLens]);
  return {
    fixed,
    fields: { user: user!.toString('utf8'), port: port!.toString('utf8'), remAddr: remAddr!.toString('utf8'), args: args.map((a) => a.toString('utf8')) },
  };
}

/**
 * Reads fixed fields front to back, then the variable fields whose lengths they gave, after checking that those
 * lengths add up to exactly the body length (§4.5) — before any slicing, so no read can run off the end.
 */
class FieldReader {
  #offset = 0;

  constructor(
    private readonly body: Buffer,
    private readonly what: string,
    minimum: number,
  ) {
    if (body.length < minimum) throw new TacacsProtocolError(`${what} body of ${body.length} bytes is shorter than its ${minimum} fixed bytes`);
  }

  octets(count: number): number[] {
    this.#need(count);
    const values = [...this.body.subarray(this.#offset, this.#offset + count)];
    this.#offset += count;
    return values;
  }

  u16(): number {
    this.#need(2);
    const value = this.body.readUInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  fields(lengths: readonly number[]): Buffer[] {
    const total = this.#offset + lengths.reduce((sum, n) => sum + n, 0);
    if (total !== this.body.length) {
      throw new TacacsProtocolError(`${this.what}: its length fields add up to ${total} bytes, the body has ${this.body.length} (wrong key?)`);
    }
    return lengths.map((n) => {
      const field = this.body.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      return field;
    });
  }

  #need(count: number): void {
    if (this.#offset + count > this.body.length) {
      throw new TacacsProtocolError(`${this.what}: needs ${this.#offset + count} bytes before its variable fields, the body has ${this.body.length} (wrong key?)`);
    }
  }
}

function known(status: number, statuses: ReadonlySet<number>, what: string): number {
  if (!statuses.has(status)) throw new TacacsProtocolError(`unknown ${what} status 0x${status.toString(16)} (wrong key?)`);
  return status;
}

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

function octets(values: readonly number[]): Buffer {
  for (const v of values) if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new TacacsEncodeError(`${v} does not fit an octet`);
  return Buffer.from(values);
}

function len8(field: Buffer, name: string): number {
  if (field.length > 0xff) throw new TacacsEncodeError(`${name} is ${field.length} bytes; TACACS+ carries at most 255`);
  return field.length;
}

function len16(field: Buffer, name: string): number {
  if (field.length > 0xffff) throw new TacacsEncodeError(`${name} is ${field.length} bytes; TACACS+ carries at most 65535`);
  return field.length;
}

function count8(count: number): number {
  if (count > 0xff) throw new TacacsEncodeError(`${count} arguments; TACACS+ carries at most 255`);
  return count;
}
