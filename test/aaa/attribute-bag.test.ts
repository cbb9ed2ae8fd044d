import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { AttributeBag, normaliseAttributes, type RawAttribute } from '../../src/aaa/attributes.js';
import {
  RadiusCode,
  RadiusEncodeError,
  decodePacket,
  describeAttributes,
  encodeAttribute,
  encodeResponse,
  type RadiusAttribute,
} from '../../src/aaa/radius/codec.js';
import { Attr, Vendor, lookupAttribute } from '../../src/aaa/radius/dictionary.js';
import { interpretArguments } from '../../src/aaa/tacacs/authorization.js';
import { assertProperty } from '../support/property.js';

/** Hex for the fixed fields, plain strings for text, so every octet of a test attribute is visible here. */
const bytes = (...parts: string[]): Buffer =>
  Buffer.concat(parts.map((part) => (part.startsWith('text:') ? Buffer.from(part.slice(5), 'utf8') : Buffer.from(part.replace(/\s+/g, ''), 'hex'))));

const vendorSpecific = (...parts: string[]): RadiusAttribute => ({ type: Attr.VendorSpecific, value: bytes(...parts) });

/** What the gateway's RADIUS client makes of an Access-Accept carrying these attributes. */
function described(...attributes: RadiusAttribute[]): Array<[string, string]> {
  const accept = encodeResponse({
    code: RadiusCode.AccessAccept,
    identifier: 7,
    requestAuthenticator: Buffer.alloc(16, 1),
    secret: 'bag-secret',
    attributes,
    messageAuthenticator: true,
  });
  return describeAttributes(decodePacket(accept).attributes);
}

const raw = (pairs: ReadonlyArray<readonly [string, string, boolean?]>): RawAttribute[] =>
  pairs.map(([name, value, optional]) => (optional === undefined ? { name, value } : { name, value, optional }));

describe('vendor dictionaries (FreeRADIUS 3.2 numbers and types)', () => {
  const cases: ReadonlyArray<{ vendor: string; attribute: RadiusAttribute; expected: Array<[string, string]> }> = [
    {
      vendor: 'Cisco 9',
      attribute: vendorSpecific('00000009', '01 13', 'text:shell:priv-lvl=15', '02 07', 'text:tty12'),
      expected: [
        ['Cisco-AVPair', 'shell:priv-lvl=15'],
        ['Cisco-NAS-Port', 'tty12'],
      ],
    },
    {
      vendor: 'Microsoft 311',
      // MS-MPPE-Send-Key (16) is keying material encrypted with the secret: never shown.
      attribute: vendorSpecific('00000137', '1c 06 c0000235', '08 06 00000006', '10 0c 8001 0011223344556677'),
      expected: [
        ['MS-Primary-DNS-Server', '192.0.2.53'],
        ['MS-MPPE-Encryption-Types', '6'],
      ],
    },
    {
      vendor: 'Aruba 14823',
      attribute: vendorSpecific('000039e7', '01 0e', 'text:netbox-admin', '03 06 0000000f', '04 0b', 'text:netbox-ro'),
      expected: [
        ['Aruba-User-Role', 'netbox-admin'],
        ['Aruba-Priv-Admin-User', '15'],
        ['Aruba-Admin-Role', 'netbox-ro'],
      ],
    },
    {
      vendor: 'Fortinet 12356',
      attribute: vendorSpecific('00003044', '01 0f', 'text:netbox-admins', '02 06 c0000207', '06 0d', 'text:super_admin'),
      expected: [
        ['Fortinet-Group-Name', 'netbox-admins'],
        ['Fortinet-Client-IP-Address', '192.0.2.7'],
        ['Fortinet-Access-Profile', 'super_admin'],
      ],
    },
    {
      vendor: 'Palo Alto 25461',
      attribute: vendorSpecific('00006375', '01 0b', 'text:superuser', '05 0e', 'text:netbox-users'),
      expected: [
        ['PaloAlto-Admin-Role', 'superuser'],
        ['PaloAlto-User-Group', 'netbox-users'],
      ],
    },
    {
      vendor: 'Juniper 2636',
      attribute: vendorSpecific('00000a4c', '01 0e', 'text:netbox-admin', '02 0a', 'text:(show.*)'),
      expected: [
        ['Juniper-Local-User-Name', 'netbox-admin'],
        ['Juniper-Allow-Commands', '(show.*)'],
      ],
    },
  ];

  for (const { vendor, attribute, expected } of cases) {
    it(`${vendor}: names and decodes a hand-built Vendor-Specific attribute`, () => {
      expect(described(attribute)).toEqual(expected);
    });
  }

  it('encodes each named vendor attribute to the same octets, one Vendor-Specific per attribute', () => {
    expect(encodeAttribute('Cisco-AVPair', 'shell:priv-lvl=15').value).toEqual(bytes('00000009', '01 13', 'text:shell:priv-lvl=15'));
    expect(encodeAttribute('MS-Primary-DNS-Server', '192.0.2.53').value).toEqual(bytes('00000137', '1c 06 c0000235'));
    expect(encodeAttribute('aruba-priv-admin-user', '15').value).toEqual(bytes('000039e7', '03 06 0000000f'));
    expect(encodeAttribute('Fortinet-Group-Name', 'netbox-admins').value).toEqual(bytes('00003044', '01 0f', 'text:netbox-admins'));
    expect(encodeAttribute('PaloAlto-Admin-Role', 'superuser').value).toEqual(bytes('00006375', '01 0b', 'text:superuser'));
    expect(encodeAttribute('Juniper-Local-User-Name', 'netbox-admin').value).toEqual(bytes('00000a4c', '01 0e', 'text:netbox-admin'));
  });

  it('finds every vendor by its IANA enterprise number and names by any case', () => {
    expect(Vendor).toEqual({ Cisco: 9, Microsoft: 311, Juniper: 2636, Fortinet: 12356, Aruba: 14823, PaloAlto: 25461 });
    expect(lookupAttribute('PALOALTO-USER-GROUP')).toMatchObject({ scope: 'vendor', vendorId: 25461, type: 5, name: 'PaloAlto-User-Group' });
    expect(lookupAttribute('26:14823:1')).toMatchObject({ vendorId: 14823, type: 1, kind: 'text' });
  });

  it('names unknown vendors and unknown types of known vendors by number, values as text or hex', () => {
    expect(described(vendorSpecific('00007ed9', '01 05', 'text:abc'), vendorSpecific('00000009', '63 04 fffe'))).toEqual([
      ['26:32473:1', 'abc'],
      ['26:9:99', '0xfffe'],
    ]);
  });

  it('refuses to write encrypted attributes it could only write in the clear', () => {
    expect(() => encodeAttribute('MS-MPPE-Recv-Key', '0x00')).toThrow(RadiusEncodeError);
    expect(() => encodeAttribute('Tunnel-Password', 'x')).toThrow(RadiusEncodeError);
    expect(() => encodeAttribute('26:14823:44', 'passphrase')).toThrow(RadiusEncodeError);
  });
});

describe('IETF dictionary', () => {
  it('decodes RFC 2865/2866/2869 attributes by their types', () => {
    expect(
      described(
        encodeAttribute('Framed-IP-Address', '10.1.2.3'),
        encodeAttribute('Session-Timeout', '3600'),
        encodeAttribute('Idle-Timeout', '600'),
        encodeAttribute('Termination-Action', '1'),
        encodeAttribute('Acct-Interim-Interval', '300'),
        encodeAttribute('Framed-Pool', 'admins'),
        encodeAttribute('Class', 'netbox-admin'),
        { type: Attr.Class, value: bytes('00ff10') },
        encodeAttribute('Event-Timestamp', '1700000000'),
      ),
    ).toEqual([
      ['Framed-IP-Address', '10.1.2.3'],
      ['Session-Timeout', '3600'],
      ['Idle-Timeout', '600'],
      ['Termination-Action', '1'],
      ['Acct-Interim-Interval', '300'],
      ['Framed-Pool', 'admins'],
      ['Class', 'netbox-admin'],
      ['Class', '0x00ff10'],
      ['Event-Timestamp', '1700000000'],
    ]);
  });

  it('reads RFC 2868 tunnel attributes without their tag and never shows Tunnel-Password', () => {
    expect(
      described(
        { type: 64, value: bytes('01 00000d') },
        { type: 65, value: bytes('01 000006') },
        { type: 81, value: bytes('01', 'text:100') },
        { type: 81, value: bytes('text:vlan-20') },
        { type: 69, value: bytes('01 8001', '00112233445566778899aabbccddeeff') },
      ),
    ).toEqual([
      ['Tunnel-Type', '13'],
      ['Tunnel-Medium-Type', '6'],
      ['Tunnel-Private-Group-Id', '100'],
      ['Tunnel-Private-Group-Id', 'vlan-20'],
    ]);
    expect(encodeAttribute('Tunnel-Type', '13').value).toEqual(bytes('00 00000d'));
    expect(() => encodeAttribute('Tunnel-Type', String(0x1000000))).toThrow(RadiusEncodeError);
    expect(() => encodeAttribute('Tunnel-Private-Group-Id', '\u0001x')).toThrow(RadiusEncodeError);
  });

  it('names standard attributes it does not know by number', () => {
    expect(described({ type: 99, value: bytes('fffe') }, { type: 240, value: bytes('text:x') })).toEqual([
      ['99', '0xfffe'],
      ['240', 'x'],
    ]);
  });
});

describe('AttributeBag', () => {
  it('keeps each value with its optional mark, and reads values alone as before', () => {
    const bag = new AttributeBag();
    bag.add('Role', 'a');
    bag.add('role', 'b', { optional: true });
    bag.add('priv-lvl', '15', { optional: false });
    expect(bag.all('ROLE')).toEqual(['a', 'b']);
    expect(bag.first('role')).toBe('a');
    expect(bag.entries()).toEqual([
      ['Role', ['a', 'b']],
      ['priv-lvl', ['15']],
    ]);
    expect(bag.detailed()).toEqual([
      [
        'Role',
        [
          { value: 'a', optional: false },
          { value: 'b', optional: true },
        ],
      ],
      ['priv-lvl', [{ value: '15', optional: false }]],
    ]);
    expect(bag.toJSON()).toEqual({ Role: ['a', 'b'], 'priv-lvl': ['15'] });
  });
});

describe('normaliseAttributes', () => {
  it('splits RADIUS Cisco-AVPairs into their inner pairs and keeps the raw values', () => {
    const bag = normaliseAttributes(
      described(
        encodeAttribute('Class', 'group=ops'),
        encodeAttribute('Cisco-AVPair', 'shell:roles="netbox-admin netbox-ops"'),
        encodeAttribute('Cisco-AVPair', 'shell:priv-lvl=15'),
        encodeAttribute('Cisco-AVPair', 'shell:roles*"netbox-ro"'),
      ).map(([name, value]) => ({ name, value })),
    );
    expect(bag.detailed()).toEqual([
      ['Class', [{ value: 'group=ops', optional: false }]],
      [
        'Cisco-AVPair',
        [
          { value: 'shell:roles="netbox-admin netbox-ops"', optional: false },
          { value: 'shell:priv-lvl=15', optional: false },
          { value: 'shell:roles*"netbox-ro"', optional: false },
        ],
      ],
      [
        'shell:roles',
        [
          { value: 'netbox-admin', optional: false },
          { value: 'netbox-ops', optional: false },
          { value: 'netbox-ro', optional: true },
        ],
      ],
      ['shell:priv-lvl', [{ value: '15', optional: false }]],
    ]);
  });

  it('splits TACACS+ cisco-av-pair arguments, unpacks role lists, and marks optional arguments', () => {
    const outcome = interpretArguments(
      ['priv-lvl=15', 'cisco-av-pair=shell:roles="network-admin vdc-admin"', 'cisco-av-pair*shell:priv-lvl=15', "shell:roles='a, b'", 'role*netbox-ro'],
      new Set(['priv-lvl', 'cisco-av-pair', 'shell:roles']),
    );
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.attributes.detailed()).toEqual([
      ['priv-lvl', [{ value: '15', optional: false }]],
      [
        'cisco-av-pair',
        [
          { value: 'shell:roles="network-admin vdc-admin"', optional: false },
          { value: 'shell:priv-lvl=15', optional: true },
        ],
      ],
      [
        'shell:roles',
        [
          { value: 'a', optional: false },
          { value: 'b', optional: false },
          { value: 'network-admin', optional: false },
          { value: 'vdc-admin', optional: false },
        ],
      ],
      ['role', [{ value: 'netbox-ro', optional: true }]],
      ['shell:priv-lvl', [{ value: '15', optional: true }]],
    ]);
  });

  const roleLists: ReadonlyArray<[value: string, roles: string[]]> = [
    ['"network-admin vdc-admin"', ['network-admin', 'vdc-admin']],
    ['netbox-admin', ['netbox-admin']],
    ["'x y'", ['x', 'y']],
    ['"a,b"', ['a', 'b']],
    ['"a, b  c"', ['a', 'b', 'c']],
    ['  "  a   b  "  ', ['a', 'b']],
    ['a,b', ['a', 'b']],
    [`'a', "b c"`, ['a', 'b', 'c']],
    ['"a b\'', ['a', 'b']],
    ['""', []],
    ["''", []],
    ['" , "', []],
    ['', []],
    ['"', []],
  ];
  for (const [value, roles] of roleLists) {
    it(`unpacks the role list ${JSON.stringify(value)} wherever it comes from`, () => {
      for (const name of ['shell:roles', 'shell:role', 'Role']) {
        expect(normaliseAttributes([{ name, value }]).all(name)).toEqual(roles);
        expect(normaliseAttributes([{ name: 'Cisco-AVPair', value: `${name}=${value}` }]).all(name)).toEqual(roles);
        expect(normaliseAttributes([{ name: 'cisco-av-pair', value: `${name}*${value}` }]).detailed().slice(1)).toEqual(
          roles.length === 0 ? [] : [[name, roles.map((role) => ({ value: role, optional: true }))]],
        );
      }
    });
  }

  it('reads inner pairs with spaces around the separator and separators inside the value', () => {
    const bag = normaliseAttributes(
      raw([
        ['Cisco-AVPair', 'shell:priv-lvl = 15'],
        ['Cisco-AVPair', 'ip:inacl#1=permit tcp any any eq 22'],
        ['Cisco-AVPair', 'url-redirect=https://portal.example/?a=b*c'],
        ['Cisco-AVPair', ' shell:roles = "a, b  c"'],
      ]),
    );
    expect(bag.all('shell:priv-lvl')).toEqual(['15']);
    expect(bag.all('ip:inacl#1')).toEqual(['permit tcp any any eq 22']);
    expect(bag.all('url-redirect')).toEqual(['https://portal.example/?a=b*c']);
    expect(bag.all('shell:roles')).toEqual(['a', 'b', 'c']);
    expect(bag.all('Cisco-AVPair')).toHaveLength(4);
  });

  it('adds no inner pair for a value that is not one', () => {
    const values = ['just-text', 'not a key=1', '=orphan', '"shell:roles=a"', '', 'cisco-av-pair=shell:roles=a'];
    const bag = normaliseAttributes(values.map((value) => ({ name: 'Cisco-AVPair', value })));
    expect(bag.entries()).toEqual([['Cisco-AVPair', values]]);
  });

  it('keeps values exactly as delivered unless they are role lists', () => {
    const pairs = raw([
      ['memberof', '"CN=NetBox Admins,OU=Groups,DC=example,DC=com"'],
      ['Class', ' NetBox Admins '],
      ['autocmd', 'show version', true],
      ['priv-lvl', '15'],
    ]);
    expect(normaliseAttributes(pairs).toJSON()).toEqual({
      memberof: ['"CN=NetBox Admins,OU=Groups,DC=example,DC=com"'],
      Class: [' NetBox Admins '],
      autocmd: ['show version'],
      'priv-lvl': ['15'],
    });
  });

  it('does not count an inner pair twice when the reply also says it directly or repeats the pair', () => {
    const bag = normaliseAttributes(
      raw([
        ['cisco-av-pair', 'shell:roles="a b"'],
        ['shell:roles', 'a'],
        ['cisco-av-pair', 'shell:roles="a b"'],
        ['role', 'x'],
        ['role', 'x'],
      ]),
    );
    expect(bag.toJSON()).toEqual({ 'cisco-av-pair': ['shell:roles="a b"', 'shell:roles="a b"'], 'shell:roles': ['a', 'b'], role: ['x', 'x'] });
  });

  it('gives the same bag when fed the pairs of a normalised bag', () => {
    const names = ['Cisco-AVPair', 'cisco-av-pair', 'shell:roles', 'Shell:Role', 'role', 'Class', 'priv-lvl', 'shell:priv-lvl'];
    const roleList = fc
      .array(fc.constantFrom('a', 'b', 'netbox-admin', '', ' ', ',', '"', "'"), { maxLength: 6 })
      .map((parts) => parts.join(''))
      .chain((list) => fc.constantFrom(list, `"${list}"`, `'${list}'`));
    const value = fc.oneof(
      roleList,
      fc.tuple(fc.constantFrom(...names), fc.constantFrom('=', '*', ' = '), roleList).map(([key, separator, list]) => `${key}${separator}${list}`),
      fc.string({ maxLength: 12 }),
    );
    const attribute = fc.record({ name: fc.constantFrom(...names), value, optional: fc.boolean() });
    assertProperty(
      fc.property(fc.array(attribute, { maxLength: 8 }), (attributes) => {
        const once = normaliseAttributes(attributes);
        const pairs = once.detailed().flatMap(([name, values]) => values.map((v) => ({ name, ...v })));
        expect(normaliseAttributes(pairs).detailed()).toEqual(once.detailed());
      }),
      { numRuns: 500 },
    );
  });
});
