/**
 * A seeded generator of malformed HTTP/1.x requests as exact bytes, for the raw-socket suite
 * (test/gateway/malformed-requests.test.ts). Strings here are byte strings: every character is one byte
 * (written as latin1), so `\xc3\xa4` is the UTF-8 encoding of `ä` and `\x85` is the single byte 0x85.
 * No vitest imports.
 */
import { parseDjangoCookies } from '../netbox-double/context.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(items.length)] as T;
  }

  /** One of `choices`, with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [weight, value] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  bytes(length: number): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += String.fromCharCode(this.int(256));
    return out;
  }
}

export interface FuzzRequest {
  readonly id: number;
  /** `category:variant` for every ingredient, e.g. `host:missing-1.0`, `target:dot-composed`, `framing:pipelined`. */
  readonly labels: readonly string[];
  /** Written one after another, each as its own write. */
  readonly writes: readonly Buffer[];
  /** After the last write: wait for the answers, half-close and wait, close at once, or reset (RST) at once. */
  readonly after: 'wait' | 'end' | 'destroy' | 'reset';
  /** How many complete answers end the exchange; 0 when the bytes stop mid-request or are not HTTP at all. */
  readonly answers: number;
  /** Per expected answer: the request was HEAD, so the answer has no body whatever its headers say. */
  readonly heads: readonly boolean[];
  /**
   * Set when (some of) the request's messages carry a signed-in user's gateway cookie: which user, and where
   * SESSION_PLACEHOLDER stands in the bytes (offsets into the writes joined; the last may be cut short), for
   * bindSession to put that user's cookie value in before sending.
   */
  readonly session?: { readonly user: string; readonly marks: readonly number[] };
}

export const FUZZ_ID_HEADER = 'x-fuzz-id';
/** On each message that carries a signed-in user's gateway cookie; its value names the user. */
export const SIGNED_IN_HEADER = 'x-fuzz-signed-in';
/** On a signed-in DELETE or OPTIONS message with a Transfer-Encoding header: it may never reach NetBox (411/501/400). */
export const CHUNKED_DELETE_HEADER = 'x-fuzz-chunked-delete';
/**
 * The chunked body of the DELETE and OPTIONS requests made for the signed-in share is itself a request: should the
 * gateway send the DELETE on as empty with the body after it, NetBox reads this as a request of its own.
 */
export const SMUGGLED_MARK = 'fuzz-smuggled';
export const GATEWAY_COOKIE = 'nbgw_session';
/** Where the gateway cookie's value goes; fixed length, so cut points and split writes do not depend on the value. */
export const SESSION_PLACEHOLDER = '@NBGW_SESSION@';

/** One request being put together; `headers` are raw lines without their line ending (they may contain anything). */
interface Message {
  method: string;
  sep: string;
  target: string;
  version: string;
  headers: string[];
  body: string;
  eol: string;
  /** The body framing is complete: a server can tell where this request ends. */
  complete: boolean;
  labels: string[];
}

function serialise(m: Message): string {
  const line = m.version === '' ? `${m.method}${m.sep}${m.target}` : `${m.method}${m.sep}${m.target}${m.sep}${m.version}`;
  return `${line}${m.eol}${m.headers.map((h) => h + m.eol).join('')}${m.eol}${m.body}`;
}

const long = (rng: Rng, unit: string, min: number, max: number) => unit.repeat(Math.ceil(rng.between(min, max) / unit.length));

// ---------------------------------------------------------------------------------------------------------------
// Hosts

const HOST_NAME = 'gw.example';

type HostVariant = readonly [string, (rng: Rng, m: Message) => void];

const setHost = (value: string) => (_rng: Rng, m: Message) => void m.headers.push(`Host: ${value}`);

const HOSTS: readonly (readonly [number, HostVariant])[] = [
  [30, ['normal', (rng, m) => void m.headers.push(`${rng.pick(['Host', 'host', 'HOST'])}: ${rng.pick([HOST_NAME, '127.0.0.1', 'localhost:8080', 'netbox.example.com:443'])}`)]],
  [4, ['missing-1.0', (_rng, m) => void (m.version = 'HTTP/1.0')]],
  [3, ['missing-1.1', () => undefined]],
  [4, ['empty', (rng, m) => void m.headers.push(rng.pick(['Host:', 'Host: ', 'host:']))]],
  [2, ['empty-1.0', (rng, m) => void ((m.version = 'HTTP/1.0'), m.headers.push(rng.pick(['Host:', 'Host: '])))]],
  [2, ['whitespace', (rng, m) => void m.headers.push(rng.pick(['Host:  ', 'Host: \t', 'Host:\t \t']))]],
  [2, ['very-long', (rng, m) => void m.headers.push(`Host: ${long(rng, 'a', 300, 9000)}.example`)]],
  [2, ['space-tab', (rng, m) => void m.headers.push(`Host: ${rng.pick(['a b', 'a\tb', 'gw.example evil.example', ' gw.example '])}`)]],
  [2, ['latin1', setHost('gw\xe9.example')]],
  [2, ['utf8', setHost('b\xc3\xbccher.example')]],
  [1, ['ipv6-open', setHost('[::1')]],
  [1, ['ipv6', setHost('[::1]:8080')]],
  [1, ['colons', setHost('a:b:c')]],
  [1, ['port-0', setHost('gw.example:0')]],
  [1, ['port-99999', setHost('gw.example:99999')]],
  [1, ['port-junk', setHost('gw.example:80x')]],
  [2, ['userinfo', (rng, m) => void m.headers.push(`Host: ${rng.pick(['a@b', 'user:pw@gw.example', 'evil.example@gw.example'])}`)]],
  [3, ['two', (rng, m) => void m.headers.push(`Host: ${rng.pick([HOST_NAME, ''])}`, `Host: ${rng.pick(['evil.example', '', HOST_NAME])}`)]],
  [1, ['comma', setHost('gw.example, evil.example')]],
  [1, ['slash', (rng, m) => void m.headers.push(`Host: ${rng.pick(['gw.example/x', 'gw.example\\x', 'gw.example?x', 'gw.example#x', '..', '%2e'])}`)]],
  [1, ['trailing-dot', setHost('gw.example.')]],
];

// ---------------------------------------------------------------------------------------------------------------
// Methods

const METHODS: readonly (readonly [number, readonly [string, (rng: Rng) => string]])[] = [
  [40, ['GET', () => 'GET']],
  [10, ['HEAD', () => 'HEAD']],
  [8, ['POST', () => 'POST']],
  [6, ['other-standard', (rng) => rng.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS'])]],
  [3, ['lower-case', (rng) => rng.pick(['get', 'head', 'Get', 'post', 'gEt'])]],
  [3, ['unknown', (rng) => rng.pick(['FOO', 'GETT', 'BREW', 'M-SEARCH', 'PROPFIND', 'QUERY', 'LINK', 'G-T', 'GET/', 'GE'])]],
  [1, ['very-long', (rng) => long(rng, 'GET', 100, 20000)]],
  [2, ['CONNECT', () => 'CONNECT']],
  [2, ['TRACE', () => 'TRACE']],
  [2, ['OPTIONS-*', () => 'OPTIONS']],
  [1, ['PRI', () => 'PRI']],
  [1, ['odd-bytes', (rng) => rng.pick(['', 'G\x00ET', 'GET\t', '\xffGET', 'GET\x7f', 'G E T'])]],
];

// ---------------------------------------------------------------------------------------------------------------
// Targets

const PREFIXES = [
  '/static/',
  '/static/',
  '/static/',
  '/api/',
  '/graphql/',
  '/media/',
  '/login/',
  '/logout/',
  '/-/login',
  '/-/reauth',
  '/-/ready',
  '/-/health',
  '/-/static/',
  '/-/logout',
  '/',
  '/dcim/devices/',
  '/__double__/headers',
] as const;

const PLAIN_TAILS = ['', 'netbox.css', 'netbox.js', 'users/users/', 'users/config/', 'x.png', 'a/b/c/', 'status/'];

const QUERIES = ['', '', '', '?x=1', '?next=/dcim/', '?next=//evil.example/', '?next=%2F%2Fevil.example', '?next=/\\evil.example', '?next=%ff%', '?a=%', '?limit=0&offset=-1', '?next=http://evil.example/'];

export const CURATED_DOT_TARGETS = [
  '/static/../login/',
  '/static/%2e%2e/api/users/users/',
  '/static/%2E%2e/api/users/users/',
  '/static/.%2e/api/users/users/',
  '/static/%2e./login/',
  '/static/%252e%252e/api/users/users/',
  '/static/./netbox.css',
  '/static/netbox.css/..',
  '/static/x/../../api/users/users/',
  '/static/..',
  '/static/%2e%2e',
  '/static/..%2fapi%2fusers%2fusers/',
  '/static/..%2Flogin/',
  '/static/..;/login/',
  '/static/%c0%ae%c0%ae/login/',
  '/static/../__double__/headers',
  '/static/../media/x.png',
  '/static/../graphql/',
  '/api/../static/netbox.css',
  '/media/../static/netbox.css',
  '/-/static/../../package.json',
  '/-/static/%2e%2e/%2e%2e/package.json',
  '/-/health/../../login/',
];

const DOT_PIECES = ['..', '.', '%2e%2e', '%2E%2e', '%2e%2E', '%2E%2E', '.%2e', '%2e.', '%2e', '%252e%252e', '%25252e%25252e', '..;', '...', '.. ', '%2e%2e%00'];
const DOT_JOINERS = ['/', '/', '/', '%2f', '%2F', '\\', '%5c', '%5C', '//', '%252f'];
const DOT_DESTINATIONS = ['login/', 'api/users/users/', 'api/', 'graphql/', 'media/x.png', '__double__/headers', 'dcim/devices/', 'netbox.css', ''];

const TARGETS: readonly (readonly [number, readonly [string, (rng: Rng) => string]])[] = [
  [30, ['plain', (rng) => rng.pick(PREFIXES) + rng.pick(PLAIN_TAILS) + rng.pick(QUERIES)]],
  [8, ['dot-curated', (rng) => rng.pick(CURATED_DOT_TARGETS)]],
  [
    14,
    [
      'dot-composed',
      (rng) => {
        const pieces: string[] = [];
        for (let i = rng.between(1, 3); i > 0; i -= 1) pieces.push(rng.pick(DOT_PIECES));
        const joiner = rng.pick(DOT_JOINERS);
        const prefix = rng.weighted<string>([
          [6, '/static/'],
          [1, rng.pick(PREFIXES)],
          [1, '/static/x/'],
        ]);
        return `${prefix}${pieces.join(joiner)}${joiner}${rng.pick(DOT_DESTINATIONS)}${rng.chance(0.2) ? '/..' : ''}${rng.chance(0.2) ? rng.pick(QUERIES) : ''}`;
      },
    ],
  ],
  [4, ['backslash', (rng) => rng.pick(['/static\\..\\login/', '/static/..\\api/users/users/', '\\static/netbox.css', '/static\\netbox.css', '/static/x\\..\\..\\api/', '/\\evil.example/', '/static/\\\\evil.example'])]],
  [4, ['backslash-encoded', (rng) => rng.pick(['/static/%5c..%5capi/users/users/', '/static/%5C..%5Clogin/', '/static%5c..%5capi/', '/static/x%5c', '/%5cevil.example/'])]],
  [4, ['slash-encoded', (rng) => rng.pick(['/static/..%2fapi/users/users/', '/static%2f..%2fapi/', '/static/%2F%2Fevil.example', '/static/x%2fy.css', '/api%2fusers/users/', '%2fstatic/netbox.css'])]],
  [3, ['nul', (rng) => rng.pick(['/static/netbox.css%00', '/static/%00/../api/', '/api/%00', '/static/netbox.css%00.png', '/-/login?next=/%00'])]],
  [3, ['bad-escape', (rng) => rng.pick(['/static/%', '/static/%zz', '/static/%e', '/static/%%32e', '/api/%', '/%', '/-/login?next=%', '/media/%g0', '/static/%u002e%u002e/login/'])]],
  [3, ['high-bytes', (rng) => `${rng.pick(PREFIXES)}${rng.pick(['\xff', '\xc3\xa4', '\x85', '\xa0', '\xe2\x80\xae'])}${rng.pick(PLAIN_TAILS)}`]],
  [1, ['control-bytes', (rng) => `/static/${rng.pick(['\x00', '\x01', '\x7f', '\t', '\x0b'])}netbox.css`]],
  [4, ['absolute', (rng) => `${rng.pick(['http://x', 'http://127.0.0.1', 'HTTP://gw.example', 'https://evil.example', 'http://x:99999', 'http://a@b'])}${rng.pick(PREFIXES)}${rng.pick(PLAIN_TAILS)}`]],
  [2, ['authority', (rng) => rng.pick(['gw.example:80', '127.0.0.1:1', 'x:443', '[::1]:80', 'evil.example'])]],
  [2, ['asterisk', () => '*']],
  [3, ['double-slash', (rng) => rng.pick(['//double/slash', '//static/netbox.css', '///api/users/users/', '//evil.example/static/netbox.css', '/static//netbox.css', '/static///../login/'])]],
  [2, ['long-path', (rng) => `/static/${long(rng, rng.pick(['a', 'a/', '../', '%2e%2e/']), 500, 20000)}netbox.css`]],
  [2, ['long-query', (rng) => `${rng.pick(PREFIXES)}?${long(rng, rng.pick(['a=b&', 'next=%2F&', '%', '%ff']), 500, 20000)}`]],
  [1, ['empty', () => '']],
  [2, ['no-slash', (rng) => rng.pick(['static/netbox.css', 'api/users/users/', '-/health', '.', '..', '?x'])]],
  [1, ['fragment', (rng) => rng.pick(['/static/netbox.css#../../login/', '/static/#/../api/', '/-/login#x'])]],
];

// ---------------------------------------------------------------------------------------------------------------
// Header extras and bodies

type Extra = readonly [string, (rng: Rng, m: Message) => void];

const add = (...lines: string[]) => (_rng: Rng, m: Message) => void m.headers.push(...lines);
const addOne = (...choices: string[]) => (rng: Rng, m: Message) => void m.headers.push(rng.pick(choices));

const setBody = (body: string, complete = true, ...lines: string[]) => (_rng: Rng, m: Message) => {
  m.headers.push(...lines);
  m.body = body;
  m.complete = complete;
};

const chunked = (payload: string) => `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`;

/** Identity, cookie and forwarding headers: what must never reach NetBox from an anonymous client. */
const IDENTITY_EXTRAS: readonly Extra[] = [
  ['cookie-sessionid', addOne('Cookie: sessionid=fuzzsession', 'Cookie: csrftoken=fuzzcsrf', 'cookie: sessionid=fuzzsession; csrftoken=fuzzcsrf', 'Cookie: a=1; sessionid=fuzzsession')],
  ['cookie-space', addOne('Cookie: a=1;  sessionid=fuzzsession', 'Cookie: \tsessionid=fuzzsession', 'Cookie: sessionid =fuzzsession', 'Cookie: a=1;\tcsrftoken=fuzzcsrf')],
  ['cookie-nel', addOne('Cookie: \x85sessionid=fuzzsession', 'Cookie: a=1; \x85sessionid=fuzzsession', 'Cookie: a=1;\x85csrftoken=fuzzcsrf', 'Cookie: sessionid\x85=fuzzsession')],
  ['cookie-nbsp', addOne('Cookie: \xa0csrftoken=fuzzcsrf', 'Cookie: a=1; \xa0sessionid=fuzzsession', 'Cookie: \xa0\x85sessionid=fuzzsession', 'Cookie: sessionid\xa0=fuzzsession')],
  ['cookie-case', addOne('Cookie: SESSIONID=fuzzsession', 'Cookie: SessionId=fuzzsession', 'Cookie: sessionid=fuzzsession; sessionid=other')],
  ['cookie-two-headers', add('Cookie: a=1', 'Cookie: sessionid=fuzzsession')],
  ['cookie-odd', addOne('Cookie: =sessionid', 'Cookie: sessionid', 'Cookie: csrftoken="fuzz;csrf"', 'Cookie: ;;;', 'Cookie: a="sessionid=x"; b=2', 'Cookie:')],
  ['cookie-forged-gateway', addOne('Cookie: nbgw_session=s%3Aforged.c2lnbmF0dXJl', 'Cookie: nbgw_session=forged', 'Cookie: nbgw_session=s%3A; sessionid=fuzzsession', 'Cookie: nbgw_session=\x85')],
  ['remote-user', addOne('Remote-User: admin', 'remote-user: admin', 'REMOTE-USER: admin', 'Remote-User-Group: netbox-admin', 'Remote-User-Email: a@b')],
  ['remote-user-underscore', addOne('Remote_User: admin', 'remote_user: admin', 'REMOTE_USER: admin', 'Remote_User_Group: netbox-admin', 'HTTP_REMOTE_USER: admin')],
  ['remote-user-configured', addOne('X-Netbox-User: admin', 'x-netbox-user: admin', 'X_NETBOX_USER: admin', 'x_Netbox-user: admin', 'X-NetBox-User: admin')],
  ['remote-user-odd', addOne('Remote-User: admin', 'Remote-User:admin', 'Remote-User: \x85admin', 'Remote-User:\tadmin\t')],
  ['authorization', addOne('Authorization: Token junk', 'Authorization: Bearer nbt_x.y', 'Authorization: Token 0123456789abcdef0123456789abcdef01234567', 'Authorization: Bearer nbt_abcdefabcdef.0123456789', 'Authorization: Basic YWRtaW46YWRtaW4=', 'Authorization: Token', 'Authorization: token\tjunk', 'Authorization: \xff\xfe', 'Authorization: Bearer nbt_')],
  ['authorization-long', (rng, m) => void m.headers.push(`Authorization: Token ${long(rng, 'a', 100, 9000)}`)],
  ['x-forwarded', addOne('X-Forwarded-Host: evil.example', 'X-Forwarded-Host: a, b', 'X-Forwarded-Host:', 'X-Forwarded-Host: \xff', 'X-Forwarded-Proto: https, http', 'X-Forwarded-Proto: gopher', 'X-Forwarded-For: 1.2.3.4, garbage', 'X-Forwarded-For: \xc3\xa4', 'X-Forwarded-For: ', 'Forwarded: for=x;host=evil.example;proto=https', 'X-Real-IP: 10.0.0.1', 'X-Forwarded-Port: 99999', 'X-Forwarded-Prefix: /static/')],
  ['connection-hop', addOne('Connection: Remote-User, X-Forwarded-For, Cookie, Host, Content-Length', 'Connection: close, Cookie', 'Connection: X-Netbox-User', 'Connection: keep-alive, Authorization')],
  ['expect', addOne('Expect: 100-continue', 'Expect: 100-Continue', 'Expect: 100-continue, foo', 'Expect: foo', 'Expect:', 'Expect: 200-ok')],
  ['upgrade', addOne('Upgrade: websocket\r\nConnection: Upgrade', 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Connection: upgrade', 'Upgrade: websocket')],
];

/** Header syntax and framing headers, each with the body (if any) that goes with it. */
const SYNTAX_EXTRAS: readonly Extra[] = [
  ['name-invalid', addOne('X A: 1', 'X\x7fA: 1', 'X\xe4: 1', '(x): 1', ': novalue', 'X-A : 1', 'X-A\t: 1', 'X"A": 1', 'X-A;: 1', '\xc3\xa4: 1', 'Cookie : sessionid=fuzzsession', 'Remote-User : admin')],
  ['no-colon', addOne('X-A', 'Cookie sessionid=fuzzsession', 'x')],
  ['obs-fold', addOne('X-A: a\r\n b', 'Cookie: a=b\r\n\tsessionid=fuzzsession', 'X-A: a\r\n\tRemote-User: admin', 'X-A: a\r\n \r\n b')],
  ['leading-space-line', addOne(' X-A: 1', '\tRemote-User: admin', ' Host: evil.example')],
  ['nul', addOne('X-A: a\x00b', 'X-\x00A: 1', 'Cookie: a=\x00; sessionid=fuzzsession')],
  ['bare-cr', addOne('X-A: a\rb', 'X-A: a\rRemote-User: admin', 'X-A: a\r')],
  ['bare-lf', addOne('X-A: a\nb', 'X-A: a\nRemote-User: admin', 'X-A: a\nCookie: sessionid=fuzzsession')],
  ['control-value', addOne('X-A: a\x01b', 'X-A: \x1b[31m', 'X-A: a\x7f', 'X-A: \x0b\x0c')],
  ['long-value', (rng, m) => void m.headers.push(`X-Long: ${long(rng, rng.pick(['a', 'a,', '\xff']), 500, 20000)}`)],
  [
    'many-headers',
    (rng, m) => {
      for (let i = rng.between(30, 2100); i > 0; i -= 1) m.headers.push(`X-N-${i}: ${i}`);
    },
  ],
  ['cl-duplicate-equal', setBody('hello', true, 'Content-Length: 5', 'Content-Length: 5')],
  ['cl-duplicate-different', setBody('hello', true, 'Content-Length: 5', 'Content-Length: 6')],
  ['cl-list', setBody('hello', true, 'Content-Length: 5, 5')],
  ['cl-odd', (rng, m) => setBody('hello', true, rng.pick(['Content-Length: +5', 'Content-Length: -1', 'Content-Length: 0x5', 'Content-Length:  5 ', 'Content-Length: 5 5', 'Content-Length: 99999999999999999999', 'Content-Length: 05', 'Content-Length: 5\x00']))(rng, m)],
  ['cl-huge', setBody('', false, 'Content-Length: 26214401')],
  ['te-chunked', setBody(chunked('hello'), true, 'Transfer-Encoding: chunked')],
  ['te-variants', (rng, m) => setBody(chunked('hello'), true, rng.pick(['Transfer-Encoding: chunked, identity', 'Transfer-Encoding:  chunked', 'Transfer-Encoding: xchunked', 'Transfer-Encoding: Chunked', 'Transfer-Encoding: identity', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked\t', 'Transfer-Encoding: chunked,', 'Transfer-Encoding: identity, chunked', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', 'Transfer_Encoding: chunked', 'Transfer-Encoding : chunked']))(rng, m)],
  ['cl-and-te', (rng, m) => setBody(chunked('hello'), true, ...rng.pick([['Content-Length: 5', 'Transfer-Encoding: chunked'], ['Transfer-Encoding: chunked', 'Content-Length: 100'], ['Content-Length: 0', 'Transfer-Encoding: xchunked']]))(rng, m)],
  ['chunk-bad-size', (rng, m) => setBody(rng.pick(['zz\r\nhello\r\n0\r\n\r\n', '-1\r\nhello\r\n0\r\n\r\n', 'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n', '5 \r\nhello\r\n0\r\n\r\n', '0x5\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX\r\n0\r\n\r\n', '5\nhello\n0\n\n', '\r\n', '5;ext="a\r\nhello\r\n0\r\n\r\n']), true, 'Transfer-Encoding: chunked')(rng, m)],
  ['chunk-trailers', setBody('5\r\nhello\r\n0\r\nRemote-User: admin\r\nCookie: sessionid=fuzzsession\r\nX-Netbox-User: admin\r\n\r\n', true, 'Transfer-Encoding: chunked', 'Trailer: Remote-User')],
  ['chunk-unterminated', setBody('5\r\nhello\r\n', false, 'Transfer-Encoding: chunked')],
  ['body-truncated', (rng, m) => setBody('x'.repeat(rng.between(0, 40)), false, `Content-Length: ${rng.between(41, 5000)}`)(rng, m)],
  ['body-extra', setBody('helloGET /static/../login/ HTTP/1.1\r\nHost: gw.example\r\n\r\n', true, 'Content-Length: 5')],
  ['body', (rng, m) => {
    const body = rng.pick(['hello', '{"a":1}', 'username=alice&password=x&csrf_token=junk&next=//evil.example', 'x'.repeat(rng.between(1, 30000))]);
    setBody(body, true, `Content-Length: ${body.length}`, rng.pick(['Content-Type: application/x-www-form-urlencoded', 'Content-Type: application/json', 'Content-Type: \xff']))(rng, m);
  }],
  ['accept', addOne('Accept: application/json', 'Accept: */*', 'Accept: text/html', 'Accept: \xff', 'Accept-Encoding: gzip, br')],
  ['origin', addOne('Origin: null', 'Origin: https://evil.example', 'Referer: http://evil.example/', 'Sec-Fetch-Site: cross-site')],
];

const BODY_EXTRAS = new Set(SYNTAX_EXTRAS.filter(([name]) => name.startsWith('cl-') || name.startsWith('te-') || name.startsWith('chunk') || name.startsWith('body')).map(([name]) => name));

function addExtras(rng: Rng, m: Message, count: number, pool: readonly Extra[]): void {
  let withBody = m.body !== '';
  for (let i = 0; i < count; i += 1) {
    const [name, apply] = rng.pick(pool);
    if (BODY_EXTRAS.has(name)) {
      if (withBody) continue;
      withBody = true;
    }
    apply(rng, m);
    m.labels.push(`header:${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

function emptyMessage(): Message {
  return { method: 'GET', sep: ' ', target: '/', version: 'HTTP/1.1', headers: [], body: '', eol: '\r\n', complete: true, labels: [] };
}

/**
 * The harness's own headers go first: a server keeps only so many header fields (Node 20: 1,000), and the gateway sends
 * its own ahead of the client's, so with thousands of fields the last ones never reach the double.
 */
function withFuzzId(m: Message, id: number): void {
  m.headers.unshift(`X-Fuzz-Id: ${id}`);
}

/** The signed-in part of a request: its own generator, so the anonymous requests of a seed stay what they were. */
export interface SessionPlan {
  readonly rng: Rng;
  readonly user: string;
}

/**
 * Gives a generated message a signed-in user's gateway cookie and leaves everything else as generated: merged into
 * a Cookie header the generator made (before or after its cookies) or as a Cookie header of its own, anywhere among
 * the headers. A forged gateway cookie the generator put first still wins, as it would for a browser.
 */
function addSession(plan: SessionPlan, m: Message): void {
  const rng = plan.rng;
  const pair = `${GATEWAY_COOKIE}=${SESSION_PLACEHOLDER}`;
  const cookieLines = m.headers.flatMap((line, i) => (/^cookie:/i.test(line) ? [i] : []));
  const placement = rng.weighted<'append' | 'prepend' | 'own-header'>(
    cookieLines.length > 0
      ? [
          [2, 'append'],
          [2, 'prepend'],
          [1, 'own-header'],
        ]
      : [[1, 'own-header']],
  );
  if (placement === 'own-header') {
    m.headers.splice(rng.int(m.headers.length + 1), 0, `${rng.pick(['Cookie', 'Cookie', 'cookie'])}: ${pair}`);
  } else {
    const at = rng.pick(cookieLines);
    const line = m.headers[at]!;
    m.headers[at] = placement === 'append' ? `${line}; ${pair}` : line.replace(/^(cookie:[ \t]*)/i, `$1${pair}; `);
  }
  m.labels.push(`session:${placement}`);
  m.headers.unshift(`X-Fuzz-Signed-In: ${plan.user}`);
  if ((m.method === 'DELETE' || m.method === 'OPTIONS') && m.headers.some((line) => /(^|\n)transfer-encoding:/i.test(line))) {
    m.headers.push('X-Fuzz-Chunked-Delete: 1');
    m.labels.push('session:chunked-delete');
  }
}

/**
 * Makes a few signed-in messages without a body a DELETE or OPTIONS with a chunked body (which the gateway refuses
 * with 411; a proxy that took it as empty would send the body after it as a request of its own): the generator alone makes too
 * few of them that are otherwise good enough to get that far. Half go to the double's upload endpoint.
 */
function chunkedDelete(plan: SessionPlan, m: Message, id: number): void {
  if (m.body !== '' || !m.complete || !plan.rng.chance(0.05)) return;
  m.method = plan.rng.pick(['DELETE', 'OPTIONS']);
  const methodLabel = m.labels.findIndex((l) => l.startsWith('method:'));
  m.labels.splice(methodLabel === -1 ? 0 : methodLabel, methodLabel === -1 ? 0 : 1, `method:${m.method}`);
  if (plan.rng.chance(0.5)) m.target = '/__double__/body';
  m.headers.splice(plan.rng.int(m.headers.length + 1), 0, plan.rng.pick(['Transfer-Encoding: chunked', 'transfer-encoding: chunked']));
  m.body = chunked(`GET /__double__/headers?${SMUGGLED_MARK}=${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-${SMUGGLED_MARK}: ${id}\r\n\r\n`);
  m.labels.push('session:made-chunked-delete');
}

/** Offsets of SESSION_PLACEHOLDER in `full`, the whole serialised request, that start within the first `sent` bytes. */
function sessionMarks(full: string, sent: number): number[] {
  const marks: number[] = [];
  for (let at = full.indexOf(SESSION_PLACEHOLDER); at !== -1 && at < sent; at = full.indexOf(SESSION_PLACEHOLDER, at + 1)) marks.push(at);
  return marks;
}

/**
 * The request as sent for a signed-in user: `value` (the gateway cookie as the browser got it) where the placeholder
 * stands, a placeholder cut short by a truncated request cut short in proportion, and split writes split at the
 * corresponding places.
 */
export function bindSession(request: FuzzRequest, value: string): FuzzRequest {
  const marks = request.session?.marks ?? [];
  if (marks.length === 0) return request;
  const text = Buffer.concat([...request.writes]).toString('latin1');
  const width = SESSION_PLACEHOLDER.length;
  const map = (pos: number): number => {
    let shift = 0;
    for (const mark of marks) {
      if (pos <= mark) break;
      if (pos >= mark + width) {
        shift += value.length - width;
        continue;
      }
      return mark + shift + Math.round(((pos - mark) * value.length) / width);
    }
    return pos + shift;
  };
  let out = '';
  let from = 0;
  for (const mark of marks) {
    const end = Math.min(mark + width, text.length);
    out += text.slice(from, mark) + value.slice(0, map(end) - map(mark));
    from = end;
  }
  out += text.slice(from);
  const writes: Buffer[] = [];
  let start = 0;
  let end = 0;
  for (const write of request.writes) {
    end += write.length;
    const mapped = map(end);
    writes.push(Buffer.from(out.slice(map(start), mapped), 'latin1'));
    start = end;
  }
  return { ...request, writes };
}

/** Any method, target, host, version, and up to five extras. */
function generalMessage(rng: Rng, id: number): Message {
  const m = emptyMessage();
  const [methodName, method] = rng.weighted(METHODS);
  m.method = method(rng);
  m.labels.push(`method:${methodName}`);
  const [targetName, target] = rng.weighted(TARGETS);
  m.target = target(rng);
  m.labels.push(`target:${targetName}`);
  if (methodName === 'CONNECT' && rng.chance(0.7)) m.target = rng.pick(['gw.example:443', '127.0.0.1:80', 'evil.example:22']);
  if (methodName === 'OPTIONS-*') m.target = '*';
  const [hostName, host] = rng.weighted(HOSTS);
  host(rng, m);
  m.labels.push(`host:${hostName}`);
  const version = rng.weighted<string>([
    [88, ''],
    [6, 'HTTP/1.0'],
    [1, 'HTTP/2.0'],
    [1, 'HTTP/1.2'],
    [1, 'HTTP/0.9'],
    [1, 'http/1.1'],
    [1, 'HTTP/11'],
    [1, 'none'],
  ]);
  if (version === 'none') m.version = '';
  else if (version !== '') m.version = version;
  if (version !== '') m.labels.push(`version:${version}`);
  if (rng.chance(0.03)) {
    m.sep = rng.pick(['  ', '\t', ' \t']);
    m.labels.push('version:odd-separator');
  }
  const count = rng.weighted<number>([
    [25, 0],
    [30, 1],
    [25, 2],
    [12, 3],
    [8, 5],
  ]);
  addExtras(rng, m, count, rng.chance(0.5) ? IDENTITY_EXTRAS : [...IDENTITY_EXTRAS, ...SYNTAX_EXTRAS]);
  if (rng.chance(0.3)) m.headers.push(rng.pick(['Connection: close', 'Connection: keep-alive', 'connection: Close']));
  withFuzzId(m, id);
  if (rng.chance(0.02)) {
    m.eol = '\n';
    m.labels.push('framing:lf-only');
  }
  return m;
}

/**
 * What an anonymous client can get proxied: GET/HEAD under /static/ with a good Host, clean or dirty paths, and
 * identity headers, cookies and framing combined, so the combinations that matter come up often.
 */
function staticMessage(rng: Rng, id: number): Message {
  const m = emptyMessage();
  m.method = rng.chance(0.8) ? 'GET' : 'HEAD';
  m.labels.push(`method:${m.method}`);
  const [targetName, target] = rng.weighted<readonly [string, (rng: Rng) => string]>([
    [4, ['static-clean', (r) => `/static/${r.pick(['netbox.css', 'netbox.js', 'x.css', 'img/logo.png', ''])}${r.pick(QUERIES)}`]],
    [2, ['dot-curated', (r) => r.pick(CURATED_DOT_TARGETS.filter((t) => t.startsWith('/static/')))]],
    [3, TARGETS.find(([, [name]]) => name === 'dot-composed')![1]],
    [1, TARGETS.find(([, [name]]) => name === 'backslash')![1]],
    [1, TARGETS.find(([, [name]]) => name === 'backslash-encoded')![1]],
    [1, TARGETS.find(([, [name]]) => name === 'slash-encoded')![1]],
    [1, TARGETS.find(([, [name]]) => name === 'nul')![1]],
  ]);
  m.target = target(rng);
  m.labels.push(`target:${targetName}`);
  const [hostName, host] = rng.chance(0.8) ? HOSTS[0]![1] : rng.weighted(HOSTS);
  host(rng, m);
  m.labels.push(`host:${hostName}`);
  addExtras(rng, m, rng.between(1, 4), rng.chance(0.7) ? IDENTITY_EXTRAS : [...IDENTITY_EXTRAS, ...SYNTAX_EXTRAS]);
  withFuzzId(m, id);
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// Whole exchanges

const TLS_CLIENT_HELLO =
  '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03' +
  '\x00'.repeat(32) +
  '\x00\x00\x20\xc0\x2b\xc0\x2f\xc0\x2c\xc0\x30\xcc\xa9\xcc\xa8\xc0\x13\xc0\x14\x00\x9c\x00\x9d\x00\x2f\x00\x35\x00\x0a\x13\x01\x13\x02\x13\x03' +
  '\x01\x00\x00\x58\x00\x00\x00\x0f\x00\x0d\x00\x00\x0agw.example\x00\x0b\x00\x02\x01\x00\x00\x0a\x00\x08\x00\x06\x00\x1d\x00\x17\x00\x18' +
  '\x00\x0d\x00\x0e\x00\x0c\x04\x01\x04\x03\x05\x01\x05\x03\x08\x04\x08\x05\x00\x10\x00\x0b\x00\x09\x08http/1.1';
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const H2_SETTINGS = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';

const RAW: readonly (readonly [number, readonly [string, (rng: Rng) => { bytes: string; answers: number; after?: FuzzRequest['after'] }]])[] = [
  [4, ['garbage', (rng) => ({ bytes: rng.bytes(rng.between(1, 3000)), answers: 0 })]],
  [2, ['garbage-then-request', (rng) => ({ bytes: `${rng.bytes(rng.between(1, 40))}\r\nGET /static/netbox.css HTTP/1.1\r\nHost: gw.example\r\n\r\n`, answers: 0 })]],
  [2, ['tls-client-hello', () => ({ bytes: TLS_CLIENT_HELLO, answers: 0 })]],
  [2, ['http2-preface', (rng) => ({ bytes: H2_PREFACE + (rng.chance(0.5) ? H2_SETTINGS : ''), answers: 0 })]],
  [2, ['http0.9', (rng) => ({ bytes: rng.pick(['GET /\r\n', 'GET /static/netbox.css\r\n', 'GET /\r\n\r\n', 'GET /static/../login/\r\n\r\n', 'GET /static/netbox.css\n\n']), answers: 0, after: rng.pick(['end', 'wait'] as const) })]],
  [1, ['empty', (rng) => ({ bytes: '', answers: 0, after: rng.pick(['end', 'destroy', 'reset', 'wait'] as const) })]],
  [1, ['blank-lines', (rng) => ({ bytes: '\r\n'.repeat(rng.between(1, 200)), answers: 0 })]],
  [1, ['blank-lines-then-request', () => ({ bytes: '\r\n\r\nGET /static/netbox.css HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n', answers: 1 })]],
  [1, ['long-request-line', (rng) => ({ bytes: `GET /static/${'a'.repeat(rng.between(70_000, 120_000))} HTTP/1.1\r\nHost: gw.example\r\n\r\n`, answers: 0 })]],
  [1, ['long-headers', (rng) => ({ bytes: `GET /static/netbox.css HTTP/1.1\r\nHost: gw.example\r\n${`X-Big: ${'b'.repeat(8000)}\r\n`.repeat(rng.between(3, 10))}\r\n`, answers: 1 })]],
  [1, ['proxy-protocol', () => ({ bytes: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 80\r\nGET /static/netbox.css HTTP/1.1\r\nHost: gw.example\r\n\r\n', answers: 0 })]],
  [1, ['nul-bytes', (rng) => ({ bytes: '\x00'.repeat(rng.between(1, 500)), answers: 0 })]],
];

const CUT_POINTS = ['request-line', 'headers', 'body'] as const;

/** The request a seed and an index always produce; with `session`, its messages carry that user's gateway cookie. */
export function generateRequest(rng: Rng, id: number, session?: SessionPlan): FuzzRequest {
  const shape = rng.weighted<'general' | 'static' | 'framing' | 'raw'>([
    [52, 'general'],
    [22, 'static'],
    [18, 'framing'],
    [8, 'raw'],
  ]);
  if (shape === 'raw') {
    const [name, make] = rng.weighted(RAW);
    const { bytes, answers, after } = make(rng);
    return { id, labels: [`raw:${name}`], writes: [Buffer.from(bytes, 'latin1')], after: after ?? 'wait', answers, heads: [] };
  }
  const first = shape === 'static' || (shape === 'framing' && rng.chance(0.4)) ? staticMessage(rng, id) : generalMessage(rng, id);
  if (session) {
    // Not on framing requests: giving the message a body would change what their framing does with the seed.
    if (shape !== 'framing') chunkedDelete(session, first, id);
    addSession(session, first);
  }
  const labels = [`shape:${shape}`, ...first.labels];
  /** `full`: the whole serialisation the request's bytes were taken from. */
  const signed = (request: FuzzRequest, full: string): FuzzRequest =>
    session ? { ...request, session: { user: session.user, marks: sessionMarks(full, request.writes.reduce((n, w) => n + w.length, 0)) } } : request;
  if (shape !== 'framing') return signed(single(id, labels, first), serialise(first));

  const framing = rng.weighted<string>([
    [4, 'split-writes'],
    [4, 'pipelined'],
    [4, 'cut'],
    [2, 'half-close-partial'],
    [2, 'half-close-complete'],
    [2, 'close-after-request'],
    [2, 'reset-after-request'],
    [2, 'body-on-get'],
  ]);
  labels.push(`framing:${framing}`);
  const bytes = serialise(first);
  switch (framing) {
    case 'split-writes': {
      const cuts = [...new Set(Array.from({ length: rng.between(1, 5) }, () => rng.int(bytes.length)))].sort((a, b) => a - b);
      const writes: Buffer[] = [];
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (cut > from) writes.push(Buffer.from(bytes.slice(from, cut), 'latin1'));
        from = cut;
      }
      return signed({ id, labels, writes, after: 'wait', answers: first.complete ? 1 : 0, heads: [first.method === 'HEAD'] }, bytes);
    }
    case 'pipelined': {
      const messages = [first];
      for (let i = rng.between(1, 2); i > 0; i -= 1) messages.push(rng.chance(0.5) ? staticMessage(rng, id) : generalMessage(rng, id));
      // A signed-in request's later messages are signed in or not: one connection, both kinds of request.
      if (session) for (const m of messages.slice(1)) if (session.rng.chance(0.7)) addSession(session, m);
      let answers = 0;
      for (const m of messages) {
        if (!m.complete) break;
        answers += 1;
        // After an Upgrade or CONNECT request the connection no longer carries HTTP requests.
        if (m.method === 'CONNECT' || m.headers.some((h) => /^upgrade:|\r\nupgrade:/i.test(h))) break;
      }
      const all = messages.map(serialise).join('');
      return signed(
        {
          id,
          labels: [...labels, ...messages.slice(1).flatMap((m) => m.labels.map((l) => `pipelined-${l}`))],
          writes: [Buffer.from(all, 'latin1')],
          after: rng.chance(0.3) ? 'end' : 'wait',
          answers,
          heads: messages.map((m) => m.method === 'HEAD'),
        },
        all,
      );
    }
    case 'cut':
    case 'half-close-partial': {
      const headEnd = bytes.indexOf(`${first.eol}${first.eol}`);
      const lineEnd = bytes.indexOf(first.eol);
      const where = rng.pick(CUT_POINTS.filter((p) => p !== 'body' || first.body !== ''));
      const [from, to] = where === 'request-line' ? [1, Math.max(1, lineEnd)] : where === 'headers' ? [Math.max(1, lineEnd), Math.max(1, headEnd)] : [headEnd + 4, bytes.length - 1];
      const at = Math.max(1, Math.min(bytes.length - 1, rng.between(from, Math.max(from, to))));
      labels.push(`framing:cut-${where}`);
      const after = framing === 'cut' ? rng.pick(['destroy', 'reset', 'wait'] as const) : 'end';
      return signed({ id, labels, writes: [Buffer.from(bytes.slice(0, at), 'latin1')], after, answers: 0, heads: [] }, bytes);
    }
    case 'half-close-complete':
      return signed({ id, labels, writes: [Buffer.from(bytes, 'latin1')], after: 'end', answers: first.complete ? 1 : 0, heads: [first.method === 'HEAD'] }, bytes);
    case 'close-after-request':
      return signed({ id, labels, writes: [Buffer.from(bytes, 'latin1')], after: 'destroy', answers: 0, heads: [] }, bytes);
    case 'reset-after-request':
      return signed({ id, labels, writes: [Buffer.from(bytes, 'latin1')], after: 'reset', answers: 0, heads: [] }, bytes);
    default: {
      // body-on-get
      if (first.body === '') {
        first.method = rng.pick(['GET', 'HEAD']);
        labels.splice(labels.findIndex((l) => l.startsWith('method:')), 1, `method:${first.method}`);
        first.body = 'hello';
        first.headers.push(rng.pick(['Content-Length: 5', 'content-length: 5']));
      }
      return signed(single(id, labels, first), serialise(first));
    }
  }
}

function single(id: number, labels: string[], m: Message): FuzzRequest {
  return { id, labels, writes: [Buffer.from(serialise(m), 'latin1')], after: 'wait', answers: m.complete ? 1 : 0, heads: [m.method === 'HEAD'] };
}

export interface SignedInShare {
  /** The share of requests (raw non-HTTP ones aside) whose messages carry a signed-in user's gateway cookie. */
  readonly share: number;
  /** Who signs in; each signed-in request is one of them. */
  readonly users: readonly string[];
}

/**
 * `count` requests from `seed`, ids from `firstId`. With `signedIn`, a second generator from the same seed decides
 * which requests carry whose gateway cookie and where: the requests themselves are byte for byte those of the seed
 * without `signedIn`, plus the cookie and tag headers.
 */
export function generateRequests(seed: number, count: number, firstId = 1, signedIn?: SignedInShare): FuzzRequest[] {
  const rng = new Rng(seed);
  const sessionRng = new Rng((seed ^ 0x5e55_1011) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    const user = signedIn !== undefined && sessionRng.chance(signedIn.share) ? sessionRng.pick(signedIn.users) : undefined;
    return generateRequest(rng, firstId + i, user === undefined ? undefined : { rng: sessionRng, user });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Judging what reached NetBox

/** Python's str.strip() for the characters a latin-1 decoded header can hold (Django parses cookies with it). */
const PYTHON_WHITESPACE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0]+|[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0]+$/g;

/** Cookie names as Django's parse_cookie sees them, with the raw name as sent. */
export function djangoCookieNames(header: string): { name: string; raw: string }[] {
  return header.split(';').map((chunk) => {
    const eq = chunk.indexOf('=');
    const raw = eq === -1 ? '' : chunk.slice(0, eq);
    return { name: raw.replace(PYTHON_WHITESPACE, ''), raw };
  });
}

/** Up to three rounds of percent-decoding, leaving invalid escapes alone. */
function decodings(path: string): string[] {
  const out = [path];
  let current = path;
  for (let round = 0; round < 3; round += 1) {
    const next = current.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) break;
    out.push(next);
    current = next;
  }
  return out;
}

/** Why a path under /static/ is not a plain static file path, or undefined when it is one. */
export function staticPathProblem(target: string): string | undefined {
  if (!target.startsWith('/static/')) return 'not under /static/';
  const path = target.split('?', 1)[0]!;
  if (path.includes('\\')) return 'backslash';
  if (/%(25)*(2f|5c)/i.test(path)) return 'encoded slash or backslash';
  for (const decoded of decodings(path)) {
    if (decoded.includes('\\')) return 'encoded backslash';
    if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return 'dot segment';
  }
  return undefined;
}

export interface Violation {
  readonly reason: string;
  readonly detail: string;
}

/**
 * What is wrong with a request the NetBox double received from a gateway whose clients never hold a session: only
 * GET/HEAD of a clean /static/ path, or the gateway's own token check, and never NetBox cookies or identity headers.
 * With `peer` (the clients' address), a proxied request must also carry the X-Real-IP and X-Forwarded-For the
 * gateway sets, not whatever the client sent.
 */
export function violationsOf(
  request: { method: string; path: string; headers: Readonly<Record<string, string | string[] | undefined>> },
  identityHeaders: readonly string[],
  peer?: string,
): Violation[] {
  const out: Violation[] = [];
  const tokenCheck = request.method === 'GET' && request.path === '/api/users/config/';
  if (!tokenCheck) {
    const realIp = request.headers['x-real-ip'];
    const forwardedFor = request.headers['x-forwarded-for'];
    const detail = `X-Real-IP: ${String(realIp)}, X-Forwarded-For: ${String(forwardedFor)}, X-Forwarded-Host: ${String(request.headers['x-forwarded-host'])}`;
    if (peer !== undefined && realIp === '' && forwardedFor === '') {
      out.push({ reason: 'empty X-Real-IP and X-Forwarded-For reached NetBox (the client had gone before the upstream request started)', detail });
    } else if (peer !== undefined && (realIp !== peer || forwardedFor !== peer)) {
      out.push({ reason: "client's own forwarding headers reached NetBox (the gateway's upstream header rewrite did not run)", detail });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') out.push({ reason: `method ${request.method} reached NetBox`, detail: request.path });
    const problem = staticPathProblem(request.path);
    if (problem === 'not under /static/') {
      const area = /^\/(api|graphql|media)\//.test(request.path) ? `/${request.path.split('/')[1]}/ path` : 'non-static path';
      out.push({ reason: `${area} reached NetBox`, detail: request.path });
    } else if (problem !== undefined) {
      out.push({ reason: `static path with ${problem} reached NetBox`, detail: request.path });
    }
  }
  const normalisedIdentity = identityHeaders.map((h) => h.toLowerCase().replaceAll('_', '-'));
  for (const [name, value] of Object.entries(request.headers)) {
    const normalised = name.toLowerCase().replaceAll('_', '-');
    if (normalised.startsWith('remote-user') || normalisedIdentity.includes(normalised)) {
      out.push({ reason: 'remote-user header reached NetBox', detail: `${name}: ${String(value)}` });
    }
    if (name.toLowerCase() === 'cookie' && value !== undefined) {
      for (const header of Array.isArray(value) ? value : [value]) {
        for (const { name, raw } of djangoCookieNames(header)) {
          if (name !== 'sessionid' && name !== 'csrftoken') continue;
          // The padding Django strips and the gateway did not: a class of its own, apart from cookies sent as they are.
          const padding = [...new Set(raw.replace(name, ''))]
            .filter((c) => c.trim() !== '')
            .map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
            .join('');
          out.push({ reason: `${name} cookie${padding ? ` (name padded with ${padding}, which Django strips and JavaScript's trim() does not)` : ''} reached NetBox`, detail: `Cookie: ${header}` });
          break;
        }
      }
    }
  }
  return out;
}

/** Why a path NetBox received is not one clean path (any path, signed-in requests may go anywhere), or undefined. */
export function pathProblem(target: string): string | undefined {
  const path = target.split('?', 1)[0]!;
  if (path.includes('\\')) return 'backslash';
  if (path.includes('//')) return 'double slash';
  if (/%(25)*(2f|5c)/i.test(path)) return 'encoded slash or backslash';
  for (const decoded of decodings(path)) {
    if (decoded.includes('\\')) return 'encoded backslash';
    if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return 'dot segment';
  }
  return undefined;
}

/** Hop-by-hop headers and Expect: the gateway answers or drops them, NetBox never sees the client's. */
const HOP_BY_HOP_TO_NETBOX = ['upgrade', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'expect'];

export interface SignedInExpectation {
  /** The user whose gateway cookie the request carried. */
  readonly user: string;
  /** The clients' address: X-Real-IP and X-Forwarded-For must be exactly it. */
  readonly peer: string;
  /** Every NetBox session key the double has issued to this user. */
  readonly sessionKeys: ReadonlySet<string>;
  /** NetBox had ended one of this user's sessions before the request arrived (its jar may hold no sessionid then). */
  readonly sessionEnded: boolean;
  /** In remote-user mode: the configured user header, and the group header with the value the gateway sends for this user. */
  readonly remoteUser: { readonly header: string; readonly groupHeader: string; readonly groups: string | undefined } | undefined;
  /** As for violationsOf: the identity headers of this configuration. */
  readonly identityHeaders: readonly string[];
}

/**
 * What is wrong with a request the NetBox double received from a request that carried a signed-in user's gateway
 * cookie. It may have any method and path, but: the gateway's own forwarding headers, no hop-by-hop headers, no
 * header name with `_`, one clean path, no gateway cookie, and as NetBox's `sessionid` (read the way Django reads
 * the Cookie header) one of this user's session keys, never a value the client chose. In remote-user mode the
 * configured header names exactly this user, and no other remote-user header comes along; in password mode none
 * at all. A request the gateway handled as anonymous (a static file; a forged gateway cookie before the real one)
 * carries no session and must then pass violationsOf, unless NetBox had ended the user's session.
 */
export function signedInViolationsOf(
  request: { method: string; path: string; headers: Readonly<Record<string, string | string[] | undefined>> },
  expected: SignedInExpectation,
): Violation[] {
  const out: Violation[] = [];
  const { headers } = request;
  const shown = (name: string) => `${name}: ${headers[name] === undefined ? '(none)' : JSON.stringify(headers[name])}`;
  if (headers['x-real-ip'] !== expected.peer || headers['x-forwarded-for'] !== expected.peer) {
    out.push({ reason: "signed-in: X-Real-IP/X-Forwarded-For other than the gateway's (the peer)", detail: `${shown('x-real-ip')}, ${shown('x-forwarded-for')}` });
  }
  if (headers['x-forwarded-proto'] !== 'http') out.push({ reason: 'signed-in: X-Forwarded-Proto other than http', detail: shown('x-forwarded-proto') });
  if (headers['forwarded'] !== undefined) out.push({ reason: 'signed-in: Forwarded header reached NetBox', detail: shown('forwarded') });
  for (const name of Object.keys(headers)) {
    if (name.includes('_')) out.push({ reason: 'signed-in: header name with an underscore reached NetBox', detail: shown(name) });
  }
  for (const name of HOP_BY_HOP_TO_NETBOX) {
    if (headers[name] !== undefined) out.push({ reason: `signed-in: ${name} header reached NetBox`, detail: shown(name) });
  }
  const connection = headers['connection'];
  if (connection !== undefined && !(typeof connection === 'string' && /^(close|keep-alive)$/i.test(connection))) {
    out.push({ reason: 'signed-in: Connection other than close/keep-alive reached NetBox', detail: shown('connection') });
  }
  const transferEncoding = headers['transfer-encoding'];
  if (transferEncoding !== undefined && transferEncoding !== 'chunked') out.push({ reason: 'signed-in: Transfer-Encoding other than chunked reached NetBox', detail: shown('transfer-encoding') });
  const problem = pathProblem(request.path);
  if (problem !== undefined) out.push({ reason: `signed-in: path with ${problem} reached NetBox`, detail: request.path });

  const cookieHeader = headers['cookie'];
  const cookieText = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  const cookies = parseDjangoCookies(cookieText);
  if (cookies[GATEWAY_COOKIE] !== undefined) out.push({ reason: 'signed-in: the gateway cookie reached NetBox', detail: shown('cookie') });
  const sessionid = cookies['sessionid'];
  // Django keeps the last of duplicate names, but every one of them must be NetBox's own: one the client chose,
  // even before the jar's, would win with the order turned round or with a reader that keeps the first.
  const each = (name: string) => (cookieText ?? '').split(';').flatMap((chunk) => Object.entries(parseDjangoCookies(chunk)).filter(([n]) => n === name).map(([, v]) => v));
  if (each('sessionid').some((value) => !expected.sessionKeys.has(value))) {
    out.push({ reason: `signed-in: sessionid other than one of ${expected.user}'s NetBox sessions reached NetBox`, detail: shown('cookie') });
  }
  if (each('csrftoken').some((value) => !/^[A-Za-z0-9]{32}$/.test(value))) {
    out.push({ reason: 'signed-in: csrftoken NetBox never set reached NetBox', detail: shown('cookie') });
  }

  const remote = expected.remoteUser;
  const identity = new Set([...expected.identityHeaders, ...(remote ? [remote.header, remote.groupHeader] : [])].map((h) => h.toLowerCase().replaceAll('_', '-')));
  for (const [name, value] of Object.entries(headers)) {
    const normalised = name.toLowerCase().replaceAll('_', '-');
    if (!normalised.startsWith('remote-user') && !identity.has(normalised)) continue;
    if (remote && name === remote.header.toLowerCase()) {
      if (value !== expected.user) out.push({ reason: `signed-in: ${remote.header} other than the signed-in user reached NetBox`, detail: shown(name) });
    } else if (remote && name === remote.groupHeader.toLowerCase()) {
      if (value !== remote.groups) out.push({ reason: `signed-in: ${remote.groupHeader} other than the gateway's for the user reached NetBox`, detail: `${shown(name)}, expected ${JSON.stringify(remote.groups)}` });
    } else {
      out.push({ reason: `signed-in: remote-user header ${remote ? 'other than the configured ones ' : ''}reached NetBox${remote ? '' : ' in password mode'}`, detail: shown(name) });
    }
  }

  // Without the user's session, the request must be one the gateway may send for anybody.
  const asUser = sessionid !== undefined || (remote !== undefined && headers[remote.header.toLowerCase()] !== undefined);
  if (!asUser && !expected.sessionEnded) {
    for (const violation of violationsOf(request, expected.identityHeaders, expected.peer)) {
      out.push({ reason: `signed-in, without the user's NetBox session: ${violation.reason}`, detail: violation.detail });
    }
  }
  if (remote && sessionid !== undefined && headers[remote.header.toLowerCase()] === undefined) {
    out.push({ reason: `signed-in: sessionid without ${remote.header} reached NetBox in remote-user mode`, detail: shown('cookie') });
  }
  return out;
}

/** A byte string for a report: quoted, with CR, LF, tab, backslash, quote and every byte outside printable ASCII escaped, cut to `max` bytes. */
export function showBytes(bytes: Buffer | string, max = 400): string {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const cut = text.length > max ? text.slice(0, max) : text;
  const escaped = cut.replace(/[^\x20-\x7e]|["\\]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '"' || c === '\\') return `\\${c}`;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
  return `"${escaped}"${text.length > max ? `…(+${text.length - max} bytes)` : ''}`;
}
