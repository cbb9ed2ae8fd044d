import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  RadiusCode,
  RadiusDecodeError,
  RadiusEncodeError,
  decodePacket,
  describeAttributes,
  encodeAccessRequest,
  encodeAccountingRequest,
  encodeAttribute,
  encodeResponse,
  encodeStatusServer,
  hidePassword,
  octetsToText,
  packetLength,
  recoverPassword,
  verifyAccountingRequest,
  verifyRequestMessageAuthenticator,
  verifyResponse,
  writeResponseAuthenticator,
  type RadiusPacket,
} from '../../src/aaa/radius/codec.js';
import { InvalidCredentials } from '../../src/aaa/types.js';
import { assertProperty } from '../support/property.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Decode, or the typed error: anything else escaping the decoder fails the test that calls this. */
function tryDecode(datagram: Uint8Array): RadiusPacket | RadiusDecodeError {
  try {
    return decodePacket(datagram);
  } catch (error) {
    if (error instanceof RadiusDecodeError) return error;
    throw error;
  }
}

describe('RFC 2865 §7.1 example (secret "xyzzy5461", user nemo, password arctangent)', () => {
  const secret = 'xyzzy5461';
  // Access-Request from the RFC's hex dump: User-Name "nemo", User-Password (hidden), NAS-IP-Address
  // 192.168.1.16, NAS-Port 3.
  const request = hex(`
    01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
    93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
    01 10 05 06 00 00 00 03`);
  // Access-Accept: Service-Type Login, Login-Service Telnet, Login-IP-Host 192.168.1.3.
  const accept = hex(`
    02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
    0e 06 c0 a8 01 03`);

  it('decodes the request and recovers the hidden password', () => {
    const packet = decodePacket(request);
    expect(packet.code).toBe(RadiusCode.AccessRequest);
    expect(packet.identifier).toBe(0);
    expect(packet.attributes.map((a) => a.type)).toEqual([1, 2, 4, 5]);
    const hidden = packet.attributes[1]!.value;
    expect(hidden).toEqual(hex('0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee'));
    expect(recoverPassword(hidden, secret, packet.authenticator).toString()).toBe('arctangent');
    expect(verifyRequestMessageAuthenticator(packet, secret)).toBe('absent');
  });

  it('hides the password to exactly the RFC bytes', () => {
    expect(hidePassword('arctangent', secret, request.subarray(4, 20))).toEqual(request.subarray(28, 44));
  });

  it('verifies the Access-Accept against the request authenticator, and nothing else', () => {
    const reply = decodePacket(accept);
    expect(verifyResponse(reply, request.subarray(4, 20), secret)).toEqual({ ok: true, messageAuthenticator: 'absent' });
    expect(verifyResponse(reply, request.subarray(4, 20), 'xyzzy5462')).toEqual({ ok: false, problem: 'response-authenticator' });
    expect(verifyResponse(reply, Buffer.alloc(16), secret).ok).toBe(false);
    expect(describeAttributes(reply.attributes)).toEqual([
      ['Service-Type', '1'],
      ['Login-Service', '0'],
      ['Login-IP-Host', '192.168.1.3'],
    ]);
  });

  it('re-encodes the same Access-Accept byte for byte', () => {
    const reply = decodePacket(accept);
    const again = encodeResponse({
      code: RadiusCode.AccessAccept,
      identifier: 0,
      requestAuthenticator: request.subarray(4, 20),
      secret,
      attributes: reply.attributes,
      messageAuthenticator: false,
    });
    expect(again).toEqual(accept);
  });
});

describe('packets made by radclient and FreeRADIUS 3.2.1', () => {
  // Captured with a Node UDP socket on 127.0.0.1 standing in for the server:
  //   echo 'User-Name = "bob", User-Password = "hello, world", NAS-Identifier = "netbox-gw", \
  //         Message-Authenticator = 0x00' | radclient -r 1 -t 1 127.0.0.1:PORT auth s3cr3t-shared
  // radclient computes the Message-Authenticator itself and puts it LAST, unlike us.
  const radclientBob = hex(
    '013300482a03ca9c98953891ad8f8c043abdbc5b0105626f620212e01c4cc5391181c65febf586d64ab69a200b6e6574626f782d67' +
      '7750124411983d01989f7eba7e4701f56e3c8b',
  );
  // The same way, for FreeRADIUS (test/freeradius config, secret testing123), then replayed to FreeRADIUS
  // 3.2.1 with users-file entry: alice Cleartext-Password := "wonderland", Class := "netbox-admin",
  // Class += "group=ops", Cisco-AVPair := "shell:roles=\"netbox-admin netbox-ops\"",
  // Cisco-AVPair += "shell:priv-lvl=15"; and with password "not-the-password" for the reject.
  const radclientAlice = hex(
    '0195003f8fa63f8fdd9ddafa27c0afb5bf84cca40107616c6963650212cbaad2b8eb74da9192bcbd2dbd4e60735012356e7fb0aa43' +
      'c6a8c0f4e06fb1f6f4cc',
  );
  const freeradiusAccept = hex(
    '029500733db3be5634c7a0e8c3f42006b9c3ffeb190e6e6574626f782d61646d696e190b67726f75703d6f70731a2d000000090127' +
      '7368656c6c3a726f6c65733d226e6574626f782d61646d696e206e6574626f782d6f7073221a190000000901137368656c6c3a707269' +
      '762d6c766c3d3135',
  );
  const radclientAliceBad = hex(
    '016c003fe230d02438d331e8b550caec59dd4ecc0107616c696365021240351605039891ef6a09069d7dc6b882501241' +
      '23c837732aef4f9b4d97284542d65b',
  );
  const freeradiusReject = hex(
    '036c002b67d3e3ba41b39a27335d858ac7a8e55a121741757468656e7469636174696f6e206661696c6564',
  );

  it('verifies radclient Message-Authenticators and recovers its passwords', () => {
    const bob = decodePacket(radclientBob);
    expect(verifyRequestMessageAuthenticator(bob, 's3cr3t-shared')).toBe('valid');
    expect(verifyRequestMessageAuthenticator(bob, 's3cr3t-sharee')).toBe('invalid');
    expect(recoverPassword(bob.attributes[1]!.value, 's3cr3t-shared', bob.authenticator).toString()).toBe('hello, world');
    expect(describeAttributes(bob.attributes)).toEqual([
      ['User-Name', 'bob'],
      ['NAS-Identifier', 'netbox-gw'],
    ]);
    const alice = decodePacket(radclientAlice);
    expect(verifyRequestMessageAuthenticator(alice, 'testing123')).toBe('valid');
    expect(recoverPassword(alice.attributes[1]!.value, 'testing123', alice.authenticator).toString()).toBe('wonderland');
  });

  it('verifies a FreeRADIUS Access-Accept and reads its Class and Cisco-AVPair values', () => {
    const request = decodePacket(radclientAlice);
    const reply = decodePacket(freeradiusAccept);
    expect(reply.identifier).toBe(request.identifier);
    expect(verifyResponse(reply, request.authenticator, 'testing123')).toEqual({ ok: true, messageAuthenticator: 'absent' });
    expect(verifyResponse(reply, request.authenticator, 'testing124').ok).toBe(false);
    expect(describeAttributes(reply.attributes)).toEqual([
      ['Class', 'netbox-admin'],
      ['Class', 'group=ops'],
      ['Cisco-AVPair', 'shell:roles="netbox-admin netbox-ops"'],
      ['Cisco-AVPair', 'shell:priv-lvl=15'],
    ]);
  });

  it('verifies a FreeRADIUS Access-Reject', () => {
    const request = decodePacket(radclientAliceBad);
    const reply = decodePacket(freeradiusReject);
    expect(reply.code).toBe(RadiusCode.AccessReject);
    expect(verifyResponse(reply, request.authenticator, 'testing123').ok).toBe(true);
    expect(describeAttributes(reply.attributes)).toEqual([['Reply-Message', 'Authentication failed']]);
  });

  it('produces the Message-Authenticator radclient produced, when given the same fields', () => {
    const bob = decodePacket(radclientBob);
    // Same authenticator, identifier and attributes, but our order (Message-Authenticator first); the HMAC
    // must then verify with radclient's algorithm, which is the one verifyRequestMessageAuthenticator implements
    // and which checked radclient's own packet above.
    const ours = decodePacket(
      encodeAccessRequest({
        identifier: bob.identifier,
        authenticator: bob.authenticator,
        secret: 's3cr3t-shared',
        username: 'bob',
        password: 'hello, world',
        attributes: [encodeAttribute('NAS-Identifier', 'netbox-gw')],
      }),
    );
    expect(ours.attributes[0]!.type).toBe(80);
    expect(ours.attributes[2]!.value).toEqual(bob.attributes[1]!.value);
    expect(verifyRequestMessageAuthenticator(ours, 's3cr3t-shared')).toBe('valid');
  });
});

describe('Access-Request encoding', () => {
  const authenticator = hex('00112233445566778899aabbccddeeff');
  const base = { identifier: 7, authenticator, secret: 'shared', username: 'u', attributes: [] };

  it('puts Message-Authenticator first, then User-Name and User-Password', () => {
    const packet = decodePacket(encodeAccessRequest({ ...base, password: 'p' }));
    expect(packet.attributes.map((a) => a.type)).toEqual([80, 1, 2]);
    expect(packet.identifier).toBe(7);
    expect(packet.authenticator).toEqual(authenticator);
    expect(verifyRequestMessageAuthenticator(packet, 'shared')).toBe('valid');
  });

  it('hides an empty password as one block of 16 octets', () => {
    const packet = decodePacket(encodeAccessRequest({ ...base, password: '' }));
    expect(packet.attributes[2]!.value.length).toBe(16);
    expect(recoverPassword(packet.attributes[2]!.value, 'shared', authenticator).length).toBe(0);
  });

  it('accepts a 128-byte password and refuses 129 bytes with InvalidCredentials', () => {
    const packet = decodePacket(encodeAccessRequest({ ...base, password: 'x'.repeat(128) }));
    expect(packet.attributes[2]!.value.length).toBe(128);
    expect(() => encodeAccessRequest({ ...base, password: 'x'.repeat(129) })).toThrow(InvalidCredentials);
    expect(() => encodeAccessRequest({ ...base, password: 'x'.repeat(129) })).toThrow(/129 bytes.*at most 128/);
    // Bytes, not characters: 43 three-byte characters are 129 bytes.
    expect(() => encodeAccessRequest({ ...base, password: '€'.repeat(43) })).toThrow(InvalidCredentials);
  });

  it('refuses a password with a NUL and an empty or oversized user name', () => {
    expect(() => encodeAccessRequest({ ...base, password: 'a\0b' })).toThrow(InvalidCredentials);
    expect(() => encodeAccessRequest({ ...base, username: '', password: 'p' })).toThrow(InvalidCredentials);
    expect(() => encodeAccessRequest({ ...base, username: 'u'.repeat(254), password: 'p' })).toThrow(InvalidCredentials);
  });

  it('refuses attribute values and packets RADIUS cannot carry', () => {
    expect(() => encodeAccessRequest({ ...base, password: 'p', attributes: [{ type: 18, value: Buffer.alloc(254) }] })).toThrow(
      RadiusEncodeError,
    );
    const many = Array.from({ length: 20 }, () => ({ type: 18, value: Buffer.alloc(253) }));
    expect(() => encodeAccessRequest({ ...base, password: 'p', attributes: many })).toThrow(/exceeds 4096/);
  });
});

describe('attribute names and values', () => {
  it('encodes dictionary, numeric and vendor names', () => {
    expect(encodeAttribute('class', 'netbox-admin')).toEqual({ type: 25, value: Buffer.from('netbox-admin') });
    expect(encodeAttribute('Class', hex('00ff'))).toEqual({ type: 25, value: hex('00ff') });
    expect(encodeAttribute('Service-Type', '6')).toEqual({ type: 6, value: hex('00000006') });
    expect(encodeAttribute('NAS-IP-Address', '192.0.2.1')).toEqual({ type: 4, value: hex('c0000201') });
    expect(encodeAttribute('99', 'x')).toEqual({ type: 99, value: Buffer.from('x') });
    expect(encodeAttribute('Cisco-AVPair', 'shell:priv-lvl=15')).toEqual({
      type: 26,
      value: Buffer.concat([hex('00000009 01 13'), Buffer.from('shell:priv-lvl=15')]),
    });
    expect(encodeAttribute('26:14823:1', 'netbox-admin').value.subarray(0, 6)).toEqual(hex('000039e7 01 0e'));
  });

  it('takes a string literally, however much it looks like hex', () => {
    for (const value of ['0x', '0x41', '0xZZ', '0X00']) {
      expect(encodeAttribute('Class', value).value.toString('utf8'), value).toBe(value);
      expect(encodeAttribute('Reply-Message', value).value.toString('utf8'), value).toBe(value);
      expect(encodeAttribute('26:9:99', value).value.subarray(6).toString('utf8'), value).toBe(value);
    }
  });

  it('takes bytes only for octets, where they are written as they are', () => {
    expect(encodeAttribute('26:9:99', hex('00 ff')).value).toEqual(hex('00000009 63 04 00ff'));
    for (const name of ['Reply-Message', 'Service-Type', 'NAS-IP-Address', 'Tunnel-Type', 'Tunnel-Private-Group-Id']) {
      expect(() => encodeAttribute(name, hex('00000001')), name).toThrow(RadiusEncodeError);
    }
  });

  it('refuses names and values it cannot write', () => {
    for (const [name, value] of [
      ['No-Such-Attribute', 'x'],
      ['User-Password', 'x'],
      ['Message-Authenticator', 'x'],
      ['26', 'x'],
      ['256', 'x'],
      ['Service-Type', 'Login'],
      ['Service-Type', '4294967296'],
      ['NAS-IP-Address', '::1'],
      ['Cisco-AVPair', 'x'.repeat(248)],
    ] as const) {
      expect(() => encodeAttribute(name, value), name).toThrow(RadiusEncodeError);
    }
  });

  it('shows octets as text only when they are clean UTF-8', () => {
    expect(octetsToText(Buffer.from('group=ops'))).toBe('group=ops');
    expect(octetsToText(Buffer.from('zwölf\tzwei'))).toBe('zwölf\tzwei');
    expect(octetsToText(hex('c3'))).toBe('0xc3');
    expect(octetsToText(hex('61 00 62'))).toBe('0x610062');
    expect(octetsToText(hex('1b 5b 33 31 6d'))).toBe('0x1b5b33316d');
  });

  it('names unknown attributes by number and expands unknown vendors', () => {
    const reply = decodePacket(
      encodeResponse({
        code: RadiusCode.AccessAccept,
        identifier: 1,
        requestAuthenticator: Buffer.alloc(16),
        secret: 's',
        attributes: [
          encodeAttribute('99', hex('fffe')),
          encodeAttribute('26:9:99', 'cisco-ninety-nine'),
          encodeAttribute('Filter-Id', 'netbox-readonly'),
          encodeAttribute('Service-Type', '6'),
        ],
        messageAuthenticator: true,
      }),
    );
    expect(describeAttributes(reply.attributes)).toEqual([
      ['99', '0xfffe'],
      ['26:9:99', 'cisco-ninety-nine'],
      ['Filter-Id', 'netbox-readonly'],
      ['Service-Type', '6'],
    ]);
  });
});

describe('replies and their signatures', () => {
  const requestAuthenticator = randomBytes(16);
  const signed = (messageAuthenticator: boolean, secret = 'right'): Buffer =>
    encodeResponse({
      code: RadiusCode.AccessAccept,
      identifier: 42,
      requestAuthenticator,
      secret,
      attributes: [encodeAttribute('Class', 'netbox-admin')],
      messageAuthenticator,
    });

  it('signs with Message-Authenticator first and verifies both authenticators', () => {
    const reply = decodePacket(signed(true));
    expect(reply.attributes[0]!.type).toBe(80);
    expect(verifyResponse(reply, requestAuthenticator, 'right')).toEqual({ ok: true, messageAuthenticator: 'valid' });
    expect(verifyResponse(decodePacket(signed(false)), requestAuthenticator, 'right')).toEqual({
      ok: true,
      messageAuthenticator: 'absent',
    });
  });

  it('catches a Message-Authenticator that is wrong while the Response Authenticator is right', () => {
    const packet = signed(true);
    packet[22] = packet[22]! ^ 0x01;
    writeResponseAuthenticator(packet, requestAuthenticator, 'right');
    expect(verifyResponse(decodePacket(packet), requestAuthenticator, 'right')).toEqual({
      ok: false,
      problem: 'message-authenticator',
    });
  });

  it('rejects a reply signed with another secret or for another request', () => {
    expect(verifyResponse(decodePacket(signed(true, 'wrong')), requestAuthenticator, 'right').ok).toBe(false);
    expect(verifyResponse(decodePacket(signed(true)), randomBytes(16), 'right').ok).toBe(false);
  });

  it('ignores UDP padding after the Length field (RFC 2865 §3)', () => {
    const packet = signed(true);
    const reply = decodePacket(Buffer.concat([packet, Buffer.from('trailing junk')]));
    expect(reply.raw).toEqual(packet);
    expect(verifyResponse(reply, requestAuthenticator, 'right').ok).toBe(true);
  });
});

describe('Accounting-Request and Status-Server (checked against radclient 1.x of FreeRADIUS 3.2.1)', () => {
  // Captured like the packets above, from
  //   echo 'Acct-Status-Type = Stop, Acct-Session-Id = "0c2f5e9a-sess", User-Name = "bob", NAS-Identifier = "netbox-gw",
  //         Calling-Station-Id = "192.0.2.7", Acct-Session-Time = 65, Acct-Terminate-Cause = Idle-Timeout' \
  //     | radclient -r 1 -t 1 127.0.0.1:PORT acct s3cr3t-shared
  const radclientStop = hex(
    '046b00507491b51c1256647f7ce062b73db8c6562806000000022c0f30633266356539612d736573730105626f62200b6e6574626f782d67' +
      '771f0b3139322e302e322e372e0600000041310600000004',
  );
  //   echo 'NAS-Identifier = "netbox-gw", Message-Authenticator = 0x00' | radclient ... status s3cr3t-shared
  const radclientStatus = hex('0c000031234f2b38fc75c136aa98a57e5e281458200b6e6574626f782d6777501254dfdf7fb56b8ea083f1849a68e7f2fc');

  it('computes the RFC 2866 Request Authenticator byte for byte as radclient does', () => {
    const stop = decodePacket(radclientStop);
    expect(verifyAccountingRequest(stop, 's3cr3t-shared')).toBe(true);
    expect(verifyAccountingRequest(stop, 's3cr3t-sharee')).toBe(false);
    const ours = encodeAccountingRequest({
      identifier: stop.identifier,
      secret: 's3cr3t-shared',
      attributes: [
        encodeAttribute('Acct-Status-Type', '2'),
        encodeAttribute('Acct-Session-Id', '0c2f5e9a-sess'),
        encodeAttribute('User-Name', 'bob'),
        encodeAttribute('NAS-Identifier', 'netbox-gw'),
        encodeAttribute('Calling-Station-Id', '192.0.2.7'),
        encodeAttribute('Acct-Session-Time', '65'),
        encodeAttribute('Acct-Terminate-Cause', '4'),
      ],
    });
    expect(ours.toString('hex')).toBe(radclientStop.toString('hex'));
  });

  it('verifies an Accounting-Response against the request authenticator', () => {
    const request = decodePacket(encodeAccountingRequest({ identifier: 7, secret: 's', attributes: [encodeAttribute('Acct-Session-Id', 'x')] }));
    const response = encodeResponse({
      code: RadiusCode.AccountingResponse,
      identifier: 7,
      requestAuthenticator: request.authenticator,
      secret: 's',
      attributes: [],
      messageAuthenticator: false,
    });
    expect(verifyResponse(decodePacket(response), request.authenticator, 's')).toEqual({ ok: true, messageAuthenticator: 'absent' });
    expect(verifyResponse(decodePacket(response), request.authenticator, 't').ok).toBe(false);
  });

  it('signs a Status-Server with Message-Authenticator first, as radclient’s verifies', () => {
    const theirs = decodePacket(radclientStatus);
    expect(theirs.code).toBe(RadiusCode.StatusServer);
    expect(verifyRequestMessageAuthenticator(theirs, 's3cr3t-shared')).toBe('valid');
    const ours = decodePacket(
      encodeStatusServer({ identifier: 3, authenticator: randomBytes(16), secret: 's3cr3t-shared', attributes: [encodeAttribute('NAS-Identifier', 'netbox-gw')] }),
    );
    expect(ours.code).toBe(RadiusCode.StatusServer);
    expect(ours.attributes.map((a) => a.type)).toEqual([80, 32]);
    expect(verifyRequestMessageAuthenticator(ours, 's3cr3t-shared')).toBe('valid');
    expect(verifyRequestMessageAuthenticator(ours, 'other')).toBe('invalid');
  });
});

describe('length checks', () => {
  const header = (code: number, length: number): Buffer => {
    const b = Buffer.alloc(20);
    b[0] = code;
    b.writeUInt16BE(length, 2);
    return b;
  };
  const withAttributes = (attributes: string): Buffer => {
    const body = hex(attributes);
    return Buffer.concat([header(2, 20 + body.length), body]);
  };
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a datagram shorter than the header', Buffer.alloc(19), /shorter than a RADIUS header/],
    ['Length below 20', header(2, 19), /outside 20\.\.4096/],
    ['Length above 4096', Buffer.concat([header(2, 4097), Buffer.alloc(4077)]), /outside 20\.\.4096/],
    ['Length beyond the datagram', header(2, 21), /exceeds the 20 octets/],
    ['an unknown code', header(99, 20), /unknown packet code 99/],
    ['an attribute of Length 0', withAttributes('19 00'), /Length 0/],
    ['an attribute of Length 1', withAttributes('19 01'), /Length 1/],
    ['an attribute running past the end', withAttributes('19 05 61 62'), /past the end/],
    ['a lone octet after the last attribute', withAttributes('19 03 61 19'), /cut off/],
    ['a short Message-Authenticator', withAttributes('50 06 00 00 00 00'), /Message-Authenticator has 4/],
    ['two Message-Authenticators', withAttributes(`50 12 ${'00'.repeat(16)} 50 12 ${'00'.repeat(16)}`), /more than one/],
  ];
  it.each(cases)('refuses %s', (_, datagram, message) => {
    expect(() => decodePacket(datagram)).toThrow(RadiusDecodeError);
    expect(() => decodePacket(datagram)).toThrow(message);
  });

  // RFC 2865 §5.26 only recommends the sub-attribute layout; USR, Lucent and Starent use others. Such a VSA is kept
  // whole rather than making a signed answer undecodable (which would send the login to the next server).
  const foreignLayouts: Array<[string, Buffer, [string, string]]> = [
    ['without room for a sub-attribute', withAttributes('1a 06 00 00 00 09'), ['26:9', '']],
    ['with a non-zero high Vendor-Id octet', withAttributes('1a 09 01 00 00 09 01 03 61'), ['26:16777225', '0x010361']],
    ['whose sub-attribute is longer than the VSA', withAttributes('1a 09 00 00 00 09 01 04 61'), ['26:9', '0x010461']],
    ['whose sub-attribute has Length 1', withAttributes('1a 09 00 00 00 09 01 01 61'), ['26:9', '0x010161']],
    ['with a cut-off sub-attribute header', withAttributes('1a 0a 00 00 00 09 01 03 61 01'), ['26:9', '0x01036101']],
    ['with USR 4-octet types', withAttributes('1a 0d 00 00 01 ad 00 00 90 1a 78 79 7a'), ['26:429', '0x0000901a78797a']],
  ];
  it.each(foreignLayouts)('keeps a Vendor-Specific %s whole', (_, datagram, pair) => {
    const packet = decodePacket(datagram);
    expect(packet.attributes[0]).toMatchObject({ type: 26 });
    expect(packet.attributes[0]!.vendor).toBeUndefined();
    expect(describeAttributes(packet.attributes)).toEqual([pair]);
  });

  it('reads the Length that frames packets on a stream, and refuses one outside 20..4096', () => {
    expect(packetLength(hex('0201 0014'))).toBe(20);
    expect(packetLength(hex('0201 1000'))).toBe(4096);
    expect(() => packetLength(hex('0201 0013'))).toThrow(RadiusDecodeError);
    expect(() => packetLength(hex('0201 1001'))).toThrow(RadiusDecodeError);
  });

  it('accepts the extremes: a bare header and a 4096-octet packet', () => {
    expect(decodePacket(header(2, 20)).attributes).toEqual([]);
    // 15 attributes of 255 octets and one of 251 fill the 4076 octets after the header exactly.
    const sizes = [...Array<number>(15).fill(255), 251];
    const big = withAttributes(sizes.map((size) => `12 ${size.toString(16)} ${'61 '.repeat(size - 2)}`).join(''));
    expect(big.length).toBe(4096);
    expect(decodePacket(big).attributes.length).toBe(16);
  });

  it('refuses hidden passwords that are not whole 16-octet blocks of at most 128', () => {
    for (const size of [0, 15, 17, 144]) {
      expect(() => recoverPassword(Buffer.alloc(size), 's', Buffer.alloc(16))).toThrow(RadiusDecodeError);
    }
  });
});

describe('properties', () => {
  const secret = 'property-secret';
  const requestAuthenticator = hex('0f403f9473978057bd83d5cb98f4227a');
  const acceptFor = (attributes: Array<[string, string]>, messageAuthenticator: boolean): Buffer =>
    encodeResponse({
      code: RadiusCode.AccessAccept,
      identifier: 9,
      requestAuthenticator,
      secret,
      attributes: attributes.map(([name, value]) => encodeAttribute(name, value)),
      messageAuthenticator,
    });
  const attributePairs = fc.array(
    fc.tuple(fc.constantFrom('Class', 'Reply-Message', 'Filter-Id', 'Cisco-AVPair', 'Aruba-User-Role', '99', '26:9:99'), fc.string({ maxLength: 40 })),
    { maxLength: 6 },
  );

  it('random datagrams decode or throw RadiusDecodeError, and never verify', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const result = tryDecode(bytes);
        if (result instanceof RadiusDecodeError) return;
        expect(verifyResponse(result, requestAuthenticator, secret).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('random datagrams with a plausible header decode or throw RadiusDecodeError, and never verify', () => {
    const plausible = fc.tuple(fc.constantFrom(2, 3, 11), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -3, max: 3 }))
      .map(([code, authenticator, body, skew]) => {
        const packet = Buffer.concat([Buffer.from([code, 9, 0, 0]), authenticator, body]);
        packet.writeUInt16BE(Math.max(0, packet.length + skew), 2);
        return packet;
      });
    assertProperty(
      fc.property(plausible, (bytes) => {
        const result = tryDecode(bytes);
        if (result instanceof RadiusDecodeError) return;
        expect(verifyResponse(result, requestAuthenticator, secret).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('any change to a signed reply is caught by decode or verify', () => {
    assertProperty(
      fc.property(
        attributePairs,
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (attributes, messageAuthenticator, position, flip, truncate) => {
          const packet = acceptFor(attributes, messageAuthenticator);
          const mutated = truncate ? packet.subarray(0, position % packet.length) : Buffer.from(packet);
          if (!truncate) mutated[position % packet.length] = mutated[position % packet.length]! ^ flip;
          const result = tryDecode(mutated);
          if (result instanceof RadiusDecodeError) return;
          expect(verifyResponse(result, requestAuthenticator, secret).ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('signed replies round-trip through decode, verify and describe', () => {
    assertProperty(
      fc.property(attributePairs, fc.boolean(), (attributes, messageAuthenticator) => {
        const reply = decodePacket(acceptFor(attributes, messageAuthenticator));
        expect(verifyResponse(reply, requestAuthenticator, secret)).toEqual({
          ok: true,
          messageAuthenticator: messageAuthenticator ? 'valid' : 'absent',
        });
        // fc.string() is printable ASCII, which is always shown as the text it is (a `0x…` included).
        expect(describeAttributes(reply.attributes)).toEqual(attributes);
      }),
      { numRuns: 300 },
    );
  });

  it('passwords of 0..128 bytes survive hiding and recovery', () => {
    const password = fc.string({ unit: 'binary', maxLength: 128 }).filter((p) => !p.includes('\0') && Buffer.byteLength(p) <= 128);
    assertProperty(
      fc.property(password, fc.string({ minLength: 1, maxLength: 64 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (p, s, ra) => {
        const authenticator = Buffer.from(ra);
        const hidden = hidePassword(p, s, authenticator);
        expect(hidden.length % 16).toBe(0);
        expect(hidden.length).toBeGreaterThanOrEqual(16);
        expect(recoverPassword(hidden, s, authenticator).toString('utf8')).toBe(p);
      }),
      { numRuns: 300 },
    );
  });
});
