import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  AcctFlag,
  AuthenStatus,
  AuthorStatus,
  HeaderFlag,
  PacketType,
  TacacsEncodeError,
  TacacsProtocolError,
  Version,
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorReply,
  decodeAuthorRequest,
  decodeHeader,
  decodePacket,
  encodeAcctReply,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodeAuthorReply,
  encodeAuthorRequest,
  encodePacket,
  parseArgument,
} from '../../src/aaa/tacacs/codec.js';
import { assertProperty } from '../support/property.js';

// Every expected byte string below is built field by field from the RFC 8907 tables, not by the codec.
const u8 = (...values: number[]): Buffer => Buffer.from(values);
const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
const u32 = (value: number): Buffer => Buffer.from([(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
const ascii = (text: string): Buffer => Buffer.from(text, 'ascii');
const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

/** RFC 8907 §4.1 header. */
const header = (version: number, type: number, seqNo: number, flags: number, sessionId: number, length: number): Buffer =>
  cat(u8(version, type, seqNo, flags), u32(sessionId), u32(length));

/** RFC 8907 §4.5, written out independently: MD5_1 = MD5(session_id ‖ key ‖ version ‖ seq_no), MD5_n adds MD5_n-1. */
function pad(sessionId: number, key: string, version: number, seqNo: number, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  while (blocks.length * 16 < length) {
    previous = createHash('md5').update(cat(u32(sessionId), ascii(key), u8(version), u8(seqNo), previous)).digest();
    blocks.push(previous);
  }
  return cat(...blocks).subarray(0, length);
}

const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((byte, i) => byte ^ b[i]!));

/** Decode, or the typed error: anything else escaping the decoder fails the test that calls this. */
function attempt<T>(decode: () => T): T | TacacsProtocolError {
  try {
    return decode();
  } catch (error) {
    if (error instanceof TacacsProtocolError) return error;
    throw error;
  }
}

const SESSION = 0x5a17c3e1;
const KEY = 'a-sixteen-char-key';

describe('RFC 8907 byte layouts, built by hand', () => {
  // §5.1 START: action LOGIN, priv_lvl 1, authen_type PAP (2), service LOGIN (1), then the four lengths.
  const papStartBody = cat(u8(0x01, 0x01, 0x02, 0x01, 5, 6, 9, 10), ascii('alice'), ascii('netbox'), ascii('192.0.2.7'), ascii('wonderland'));
  const papStart = {
    action: 1,
    privLvl: 1,
    authenType: 2,
    authenService: 1,
    user: 'alice',
    port: 'netbox',
    remAddr: '192.0.2.7',
    data: ascii('wonderland'),
  };

  it('encodes and decodes a PAP authentication START for alice', () => {
    expect(encodeAuthenStart(papStart)).toEqual(papStartBody);
    expect(decodeAuthenStart(papStartBody)).toEqual(papStart);
  });

  it('obfuscates the START body with the chained MD5 pad of §4.5 (38 bytes: three MD5 blocks)', () => {
    const body = encodeAuthenStart(papStart);
    expect(body).toHaveLength(38);
    const packet = encodePacket({ version: 0xc1, type: 1, seqNo: 1, flags: 0, sessionId: SESSION }, body, KEY);
    const expectedPad = pad(SESSION, KEY, 0xc1, 1, 38);
    expect(packet).toEqual(cat(header(0xc1, 0x01, 1, 0x00, SESSION, 38), xor(papStartBody, expectedPad)));
    expect(decodePacket(packet, KEY)).toEqual({
      header: { version: 0xc1, type: 1, seqNo: 1, flags: 0, sessionId: SESSION, length: 38 },
      body: papStartBody,
    });
  });

  it('sends the body in the clear when the unencrypted flag is set (RFC 9887 TLS), key or not', () => {
    const body = encodeAuthenStart(papStart);
    const expected = cat(header(0xc1, 0x01, 1, 0x01, SESSION, 38), papStartBody);
    expect(encodePacket({ version: 0xc1, type: 1, seqNo: 1, flags: HeaderFlag.Unencrypted, sessionId: SESSION }, body, undefined)).toEqual(expected);
    expect(encodePacket({ version: 0xc1, type: 1, seqNo: 1, flags: HeaderFlag.Unencrypted, sessionId: SESSION }, body, KEY)).toEqual(expected);
    expect(decodePacket(expected, KEY).body).toEqual(papStartBody);
  });

  it('keeps the session_id octets as sent, high bit included', () => {
    const packet = encodePacket({ version: 0xc0, type: 3, seqNo: 1, flags: 0, sessionId: 0xfedcba98 }, ascii('x'), KEY);
    expect(packet.subarray(4, 8)).toEqual(u8(0xfe, 0xdc, 0xba, 0x98));
    expect(packet.subarray(12)).toEqual(xor(ascii('x'), pad(0xfedcba98, KEY, 0xc0, 1, 1)));
  });

  it('encodes an ASCII START without data and a CONTINUE carrying the password', () => {
    const start = encodeAuthenStart({ ...papStart, authenType: 1, data: Buffer.alloc(0) });
    expect(start).toEqual(cat(u8(0x01, 0x01, 0x01, 0x01, 5, 6, 9, 0), ascii('alice'), ascii('netbox'), ascii('192.0.2.7')));
    // §5.3: user_msg_len (2), data_len (2), flags (1), user_msg, data.
    const cont = cat(u16(10), u16(0), u8(0x00), ascii('wonderland'));
    expect(encodeAuthenContinue({ userMsg: 'wonderland', data: Buffer.alloc(0), flags: 0 })).toEqual(cont);
    expect(decodeAuthenContinue(cont)).toEqual({ userMsg: 'wonderland', data: Buffer.alloc(0), flags: 0 });
  });

  it('decodes authentication REPLYs: PASS, GETPASS with NOECHO, FAIL with a message and data', () => {
    // §5.2: status, flags, server_msg_len (2), data_len (2), server_msg, data.
    expect(decodeAuthenReply(cat(u8(0x01, 0x00), u16(0), u16(0)))).toEqual({ status: AuthenStatus.Pass, flags: 0, serverMsg: '', data: Buffer.alloc(0) });
    expect(decodeAuthenReply(cat(u8(0x05, 0x01), u16(10), u16(0), ascii('Password: ')))).toMatchObject({ status: AuthenStatus.GetPass, flags: 1, serverMsg: 'Password: ' });
    const fail = cat(u8(0x02, 0x00), u16(21), u16(3), ascii('Authentication failed'), u8(1, 2, 3));
    expect(decodeAuthenReply(fail)).toEqual({ status: AuthenStatus.Fail, flags: 0, serverMsg: 'Authentication failed', data: u8(1, 2, 3) });
    expect(encodeAuthenReply({ status: AuthenStatus.Fail, serverMsg: 'Authentication failed', data: u8(1, 2, 3) })).toEqual(fail);
  });

  it('encodes an authorization REQUEST with two arguments', () => {
    // §6.1: authen_method TACACSPLUS (6), priv_lvl, authen_type, authen_service, user_len, port_len,
    // rem_addr_len, arg_cnt, arg_1_len … arg_N_len, user, port, rem_addr, arg_1 … arg_N.
    const expected = cat(
      u8(0x06, 0x01, 0x02, 0x01, 5, 6, 9, 2, 13, 4),
      ascii('alice'),
      ascii('netbox'),
      ascii('192.0.2.7'),
      ascii('service=shell'),
      ascii('cmd='),
    );
    const request = { authenMethod: 6, privLvl: 1, authenType: 2, authenService: 1, user: 'alice', port: 'netbox', remAddr: '192.0.2.7', args: ['service=shell', 'cmd='] };
    expect(encodeAuthorRequest(request)).toEqual(expected);
    expect(decodeAuthorRequest(expected)).toEqual(request);
  });

  it('decodes an authorization REPLY with arguments, server_msg and data', () => {
    // §6.2: status, arg_cnt, server_msg_len (2), data_len (2), arg lengths, server_msg, data, args.
    const bytes = cat(u8(0x01, 3), u16(2), u16(4), u8(11, 19, 11), ascii('hi'), ascii('note'), ascii('priv-lvl=15'), ascii('shell:roles="a b c"'), ascii('role*netbox'));
    expect(decodeAuthorReply(bytes)).toEqual({
      status: AuthorStatus.PassAdd,
      serverMsg: 'hi',
      data: 'note',
      args: ['priv-lvl=15', 'shell:roles="a b c"', 'role*netbox'],
    });
    expect(encodeAuthorReply({ status: AuthorStatus.PassAdd, serverMsg: 'hi', data: 'note', args: ['priv-lvl=15', 'shell:roles="a b c"', 'role*netbox'] })).toEqual(bytes);
  });

  it('encodes an accounting START REQUEST and decodes a SUCCESS REPLY', () => {
    // §7.1: flags, authen_method, priv_lvl, authen_type, authen_service, user_len, port_len, rem_addr_len,
    // arg_cnt, arg lengths, user, port, rem_addr, args.
    const expected = cat(
      u8(0x02, 0x06, 0x01, 0x02, 0x01, 5, 6, 9, 3, 10, 21, 13),
      ascii('alice'),
      ascii('netbox'),
      ascii('192.0.2.7'),
      ascii('task_id=42'),
      ascii('start_time=1700000000'),
      ascii('service=shell'),
    );
    const request = {
      flags: AcctFlag.Start,
      authenMethod: 6,
      privLvl: 1,
      authenType: 2,
      authenService: 1,
      user: 'alice',
      port: 'netbox',
      remAddr: '192.0.2.7',
      args: ['task_id=42', 'start_time=1700000000', 'service=shell'],
    };
    expect(encodeAcctRequest(request)).toEqual(expected);
    expect(decodeAcctRequest(expected)).toEqual(request);
    // §7.2: server_msg_len (2), data_len (2), status, server_msg, data.
    const reply = cat(u16(2), u16(0), u8(0x01), ascii('ok'));
    expect(decodeAcctReply(reply)).toEqual({ status: 1, serverMsg: 'ok', data: '' });
    expect(encodeAcctReply({ status: 1, serverMsg: 'ok' })).toEqual(reply);
  });
});

describe('what the decoders refuse', () => {
  const good = cat(header(0xc0, 0x01, 2, 0x01, SESSION, 6), u8(0x01, 0x00), u16(0), u16(0));

  it('headers with an unknown version, type, seq_no 0, an oversized length, or fewer than 12 bytes', () => {
    const variant = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(good);
      copy[offset] = value;
      return copy;
    };
    expect(decodeHeader(good)).toEqual({ version: 0xc0, type: 1, seqNo: 2, flags: 1, sessionId: SESSION, length: 6 });
    expect(attempt(() => decodeHeader(variant(0, 0xd0)))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeHeader(variant(0, 0xc2)))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeHeader(variant(1, 4)))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeHeader(variant(2, 0)))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeHeader(cat(good.subarray(0, 8), u32(0x10001))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeHeader(good.subarray(0, 11)))).toBeInstanceOf(TacacsProtocolError);
  });

  it('a packet whose header length disagrees with the bytes present, either way', () => {
    expect(attempt(() => decodePacket(good, undefined))).not.toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodePacket(good.subarray(0, good.length - 1), undefined))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodePacket(cat(good, u8(0)), undefined))).toBeInstanceOf(TacacsProtocolError);
  });

  it('an obfuscated body when no key is configured', () => {
    const obfuscated = Buffer.from(good);
    obfuscated[3] = 0;
    expect(attempt(() => decodePacket(obfuscated, undefined))).toBeInstanceOf(TacacsProtocolError);
  });

  it('bodies whose inner lengths do not add up to the body length, or that are shorter than their fixed part', () => {
    expect(attempt(() => decodeAuthenReply(cat(u8(0x01, 0x00), u16(1), u16(0))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAuthenReply(cat(u8(0x01, 0x00), u16(0), u16(0), u8(0))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAuthenReply(u8(0x01, 0x00, 0x00)))).toBeInstanceOf(TacacsProtocolError);
    // arg_cnt promises three length octets; only two follow.
    expect(attempt(() => decodeAuthorReply(cat(u8(0x01, 3), u16(0), u16(0), u8(1, 1))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAuthorReply(cat(u8(0x01, 1), u16(0), u16(0), u8(2), ascii('a'))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAcctReply(cat(u16(0), u16(1), u8(1))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAuthenStart(u8(1, 1, 2, 1, 5, 0, 0, 0, 0x61)))).toBeInstanceOf(TacacsProtocolError);
  });

  it('status values the RFC does not define', () => {
    expect(attempt(() => decodeAuthenReply(cat(u8(0x08, 0), u16(0), u16(0))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAuthorReply(cat(u8(0x03, 0), u16(0), u16(0))))).toBeInstanceOf(TacacsProtocolError);
    expect(attempt(() => decodeAcctReply(cat(u16(0), u16(0), u8(0x03))))).toBeInstanceOf(TacacsProtocolError);
  });

  it('accounting flag combinations §7.1 forbids', () => {
    const request = (flags: number): Buffer => cat(u8(flags, 6, 1, 2, 1, 0, 0, 0, 0));
    expect(decodeAcctRequest(request(AcctFlag.Stop)).flags).toBe(AcctFlag.Stop);
    expect(decodeAcctRequest(request(AcctFlag.Start | AcctFlag.Watchdog)).flags).toBe(0x0a);
    for (const flags of [0, AcctFlag.Start | AcctFlag.Stop, AcctFlag.Stop | AcctFlag.Watchdog]) {
      expect(attempt(() => decodeAcctRequest(request(flags)))).toBeInstanceOf(TacacsProtocolError);
    }
  });
});

describe('what the encoders refuse', () => {
  const h = { version: Version.Default, type: PacketType.Authentication, flags: 0, sessionId: SESSION };

  it('a seq_no outside 1..255: a session that would need 256 is an error, it never wraps', () => {
    expect(() => encodePacket({ ...h, seqNo: 256 }, Buffer.alloc(0), KEY)).toThrow(TacacsEncodeError);
    expect(() => encodePacket({ ...h, seqNo: 0 }, Buffer.alloc(0), KEY)).toThrow(TacacsEncodeError);
    expect(encodePacket({ ...h, seqNo: 255 }, Buffer.alloc(0), KEY)[2]).toBe(255);
  });

  it('an obfuscated body without a key, and fields longer than their length octets', () => {
    expect(() => encodePacket({ ...h, seqNo: 1 }, Buffer.alloc(1), undefined)).toThrow(TacacsEncodeError);
    const start = { action: 1, privLvl: 1, authenType: 2, authenService: 1, user: 'u'.repeat(256), port: '', remAddr: '', data: Buffer.alloc(0) };
    expect(() => encodeAuthenStart(start)).toThrow(TacacsEncodeError);
    expect(() => encodeAuthenStart({ ...start, user: 'é'.repeat(128) })).toThrow(TacacsEncodeError);
    expect(() => encodeAuthenStart({ ...start, user: 'u', data: Buffer.alloc(256) })).toThrow(TacacsEncodeError);
    expect(() => encodeAuthorReply({ status: 1, args: Array.from({ length: 256 }, () => 'a=b') })).toThrow(TacacsEncodeError);
  });
});

describe('arguments (§6.1)', () => {
  it('splits at the first separator; "=" is mandatory, "*" optional; values keep separators and quotes', () => {
    expect(parseArgument('priv-lvl=15')).toEqual({ name: 'priv-lvl', value: '15', mandatory: true });
    expect(parseArgument('role*netbox-ro')).toEqual({ name: 'role', value: 'netbox-ro', mandatory: false });
    expect(parseArgument('shell:roles="a b"')).toEqual({ name: 'shell:roles', value: '"a b"', mandatory: true });
    expect(parseArgument('cmd=')).toEqual({ name: 'cmd', value: '', mandatory: true });
    expect(parseArgument('x*y=z')).toEqual({ name: 'x', value: 'y=z', mandatory: false });
    expect(parseArgument('x=y*z')).toEqual({ name: 'x', value: 'y*z', mandatory: true });
  });

  it('refuses an argument without a name or a separator', () => {
    for (const bad of ['=15', '*x', 'priv-lvl', '']) expect(attempt(() => parseArgument(bad))).toBeInstanceOf(TacacsProtocolError);
  });
});

describe('properties', () => {
  const decoders = [decodeAuthenStart, decodeAuthenReply, decodeAuthenContinue, decodeAuthorRequest, decodeAuthorReply, decodeAcctRequest, decodeAcctReply];
  const text = fc.string({ maxLength: 40 });
  const argument = fc.tuple(fc.stringMatching(/^[a-z:-]{1,12}$/), fc.constantFrom('=', '*'), fc.string({ maxLength: 30 })).map(([n, s, v]) => n + s + v);
  const authorStatus = fc.constantFrom(...Object.values(AuthorStatus));
  const header32 = fc.record({
    version: fc.constantFrom(0xc0, 0xc1),
    type: fc.constantFrom(1, 2, 3),
    seqNo: fc.integer({ min: 1, max: 255 }),
    sessionId: fc.nat({ max: 0xffffffff }),
  });

  it('decoding arbitrary bytes throws nothing but TacacsProtocolError', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }), (bytes, key) => {
        const packet = attempt(() => decodePacket(bytes, key));
        const bodies = [Buffer.from(bytes), ...(packet instanceof TacacsProtocolError ? [] : [packet.body])];
        for (const body of bodies) for (const decode of decoders) attempt(() => decode(body));
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated packets (any byte, any value, or cut short) throw nothing but TacacsProtocolError', () => {
    assertProperty(
      fc.property(
        header32,
        authorStatus,
        fc.array(argument, { maxLength: 4 }),
        text,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (h, status, args, serverMsg, where, delta, truncate) => {
          const body = encodeAuthorReply({ status, serverMsg, args });
          const packet = encodePacket({ ...h, type: PacketType.Authorization, flags: 0 }, body, KEY);
          const index = where % packet.length;
          const mutated = truncate ? packet.subarray(0, index) : Buffer.from(packet);
          if (!truncate) mutated[index] = (mutated[index]! + delta) & 0xff;
          const decoded = attempt(() => decodePacket(mutated, KEY));
          if (!(decoded instanceof TacacsProtocolError)) for (const decode of decoders) attempt(() => decode(decoded.body));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random bodies under an obfuscated header never decode as an authentication PASS', () => {
    assertProperty(
      fc.property(header32, fc.uint8Array({ maxLength: 64 }), fc.string({ minLength: 1, maxLength: 20 }), (h, garbage, key) => {
        const bytes = cat(header(h.version, 1, h.seqNo, 0, h.sessionId, garbage.length), Buffer.from(garbage));
        const reply = attempt(() => decodeAuthenReply(decodePacket(bytes, key).body));
        expect(reply instanceof TacacsProtocolError || reply.status !== AuthenStatus.Pass).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('a reply obfuscated with another key does not decode (the lengths stop adding up)', () => {
    assertProperty(
      fc.property(header32, fc.constantFrom(...Object.values(AuthenStatus)), text, fc.string({ minLength: 1, maxLength: 20 }), (h, status, serverMsg, other) => {
        const packet = encodePacket({ ...h, type: PacketType.Authentication, flags: 0 }, encodeAuthenReply({ status, serverMsg }), KEY);
        expect(attempt(() => decodeAuthenReply(decodePacket(packet, `${KEY}${other}`).body))).toBeInstanceOf(TacacsProtocolError);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips authorization replies and accounting requests through an obfuscated packet', () => {
    assertProperty(
      fc.property(header32, authorStatus, text, text, fc.array(argument, { maxLength: 8 }), (h, status, serverMsg, data, args) => {
        const packet = encodePacket({ ...h, flags: 0 }, encodeAuthorReply({ status, serverMsg, data, args }), KEY);
        expect(decodeAuthorReply(decodePacket(packet, KEY).body)).toEqual({ status, serverMsg, data, args });
        const request = { flags: AcctFlag.Stop, authenMethod: 6, privLvl: 1, authenType: 2, authenService: 1, user: serverMsg, port: data, remAddr: '::1', args };
        expect(decodeAcctRequest(decodePacket(encodePacket({ ...h, flags: 0 }, encodeAcctRequest(request), KEY), KEY).body)).toEqual(request);
      }),
    );
  });

  it('obfuscation is no integrity protection: flipping two ciphertext bits turns a FAIL into a PASS', () => {
    // Documented rather than hidden: this is why RFC 9887 TLS exists and why the README prefers it.
    const packet = encodePacket({ version: 0xc1, type: 1, seqNo: 2, flags: 0, sessionId: SESSION }, encodeAuthenReply({ status: AuthenStatus.Fail }), KEY);
    packet[12] = packet[12]! ^ (AuthenStatus.Fail ^ AuthenStatus.Pass);
    expect(decodeAuthenReply(decodePacket(packet, KEY).body).status).toBe(AuthenStatus.Pass);
  });
});
