/**
 * How one RADIUS request reaches one server and its reply comes back, over UDP (RFC 2865) or RadSec (RFC 6614:
 * TLS over TCP). The caller hands over a finished packet and a `check` that decides whether a decoded reply with
 * the request's Identifier is the answer; every other packet is logged and ignored, as if never received.
 * Whatever goes wrong comes out as ServerTrouble, so the failover chain moves on.
 *
 * One socket, or one connection, per exchange:
 * - UDP: a connected socket gets datagrams from the server's address and port only, and an ICMP port unreachable
 *   surfaces as ECONNREFUSED, so a closed port fails in milliseconds instead of after the timeout. The Identifier
 *   space (256 values) belongs to that socket's source port alone and carries one request, so Identifier
 *   exhaustion cannot happen however many logins run at once; the limits are file descriptors (one per login in
 *   flight) and ephemeral ports, both in the tens of thousands, far beyond the logins a gateway sees at once.
 * - RadSec: a TLS handshake per login costs a few milliseconds of CPU and round trips, which logins can afford;
 *   in exchange there is no connection state to keep healthy, no idle timeout to race and no head-of-line
 *   blocking between users. TCP is reliable, so the request is sent once and never retransmitted (RADIUS over
 *   TCP, RFC 6613, on which RFC 6614 builds); the reply is awaited for as long as all UDP tries would take.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import type { RadiusServer } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { isCertificateError, tlsConnectOptions, type TlsMaterial, type TlsVersions } from '../tls.js';
import { ServerTrouble, serverName } from '../types.js';
import { RadiusDecodeError, decodePacket, packetLength, type RadiusPacket } from './codec.js';

/** RFC 6614 §2.3: "the shared secret ... MUST be 'radsec'"; the TLS session is what authenticates. */
export const RADSEC_SECRET = 'radsec';

/** RFC 6614 asks for TLS 1.1 or later; 1.1 is deprecated (RFC 8996) and its successor draft requires 1.2. */
const RADSEC_TLS: TlsVersions = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };

export interface RadiusTransportOptions {
  readonly server: RadiusServer;
  /** The shared secret of UDP servers; RadSec servers always use RADSEC_SECRET. */
  readonly secret: string;
  /** Local address to send from; undefined: the system's choice. */
  readonly sourceAddress: string | undefined;
  /** Certificates; required for a RadSec server. */
  readonly tls: TlsMaterial | undefined;
  readonly logger: Logger;
}

export type Check<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export interface ExchangeOptions<T> {
  /** UDP: wait this long after each transmission. */
  readonly timeoutMs: number;
  /** UDP: transmissions, the first included. RadSec sends once and waits `timeoutMs × tries`. */
  readonly tries: number;
  readonly signal: AbortSignal;
  /** For log lines and errors: "Access-Request", "Status-Server", ... */
  readonly what: string;
  /** Is this reply (already decoded, Identifier matching) the answer, or why is it ignored? */
  readonly check: (reply: RadiusPacket) => Check<T>;
}

interface Target {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

export class RadiusTransport {
  /** `host:port` as configured, for logs and errors. */
  readonly name: string;
  /** The secret every RADIUS digest of this server is keyed with. */
  readonly secret: string;
  readonly kind: RadiusServer['transport'];
  readonly #options: RadiusTransportOptions;
  readonly #tls: TlsMaterial | undefined;
  readonly #log: Logger;

  constructor(options: RadiusTransportOptions) {
    const { server } = options;
    if (server.transport === 'radsec' && options.tls === undefined) throw new RangeError('a RadSec server needs TLS material');
    this.#options = options;
    this.name = serverName(server);
    this.kind = server.transport;
    this.secret = server.transport === 'radsec' ? RADSEC_SECRET : options.secret;
    this.#tls = server.transport === 'radsec' ? options.tls : undefined;
    this.#log = options.logger.child({ server: this.name });
  }

  /** Sends `packet` and resolves with the first reply `check` accepts. */
  exchange<T>(packet: Buffer, options: ExchangeOptions<T>): Promise<T> {
    if (!Number.isInteger(options.tries) || options.tries < 1) throw new RangeError('tries must be an integer >= 1');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    return this.#tls === undefined ? this.#udp(packet, options) : this.#radsec(packet, options, this.#tls);
  }

  #udp<T>(packet: Buffer, options: ExchangeOptions<T>): Promise<T> {
    const { timeoutMs, tries, signal, what } = options;
    const identifier = packet[1]!;
    return new Promise<T>((resolve, reject) => {
      let socket: Socket | undefined;
      let timer: NodeJS.Timeout | undefined;
      let transmissions = 0;
      const ignored = new IgnoredReplies();
      let settled = false;

      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket?.close();
        settle();
      };
      const fail = (error: ServerTrouble): void => finish(() => reject(error));
      const onAbort = (): void => fail(this.#deadline(what, `${transmissions} transmission(s)`, signal));

      const transmit = (): void => {
        transmissions++;
        this.#log.debug({ what, identifier, transmission: transmissions, of: tries }, 'RADIUS request sent');
        // The same octets every time: same Identifier and authenticator, so the server's duplicate detection
        // recognises a retransmission (RFC 5080 §2.2.1).
        socket?.send(packet, (error) => {
          if (error) fail(this.#trouble(error));
        });
        timer = setTimeout(() => {
          if (transmissions < tries) transmit();
          else fail(ignored.trouble(this.name, `no valid reply to the ${what} in ${tries} × ${timeoutMs} ms`));
        }, timeoutMs);
      };

      const onMessage = (datagram: Buffer, from: RemoteInfo, target: Target): void => {
        // The connected socket already filters by source; this stays true should the socket ever be shared.
        const result =
          from.address === target.address && from.port === target.port
            ? this.#receive(datagram, identifier, options.check)
            : ({ ok: false, problem: 'unexpected source address' } as const);
        if (result.ok) finish(() => resolve(result.value));
        else this.#ignore(ignored, result.problem, { what, identifier, from: `${from.address}:${from.port}` });
      };

      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#target().then(
        (target) => {
          if (settled) return;
          const udp = createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' });
          socket = udp;
          udp.on('error', (error) => fail(this.#trouble(error)));
          udp.on('message', (datagram, from) => onMessage(datagram, from, target));
          const connect = (): void => udp.connect(target.port, target.address, transmit);
          const source = this.#options.sourceAddress;
          if (source === undefined) connect();
          else if (isIP(source) !== target.family) {
            fail(new ServerTrouble('network', `${this.name}: the source address ${source} cannot reach an IPv${target.family} server`));
          } else udp.bind({ address: source, port: 0 }, connect);
        },
        (error: unknown) => fail(new ServerTrouble('network', `${this.name}: cannot resolve ${this.#options.server.host}`, { cause: error })),
      );
    });
  }

  #radsec<T>(packet: Buffer, options: ExchangeOptions<T>, material: TlsMaterial): Promise<T> {
    const { timeoutMs, tries, signal, what } = options;
    const waitMs = timeoutMs * tries;
    const identifier = packet[1]!;
    const { host, port } = this.#options.server;
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(this.#deadline(what, 'no connection', signal));
      const source = this.#options.sourceAddress;
      const socket = tlsConnect({
        ...tlsConnectOptions(host, port, material, RADSEC_TLS),
        ...(source === undefined ? {} : { localAddress: source }),
      });
      let buffered = Buffer.alloc(0);
      let sent = false;
      const ignored = new IgnoredReplies();
      let settled = false;

      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        // One request per connection: nothing else will use it.
        socket.destroy();
        settle();
      };
      const fail = (error: ServerTrouble): void => finish(() => reject(error));
      const onAbort = (): void => fail(this.#deadline(what, sent ? 'the request was sent' : 'before the request was sent', signal));
      const timer = setTimeout(
        () => fail(ignored.trouble(this.name, `no valid reply to the ${what} within ${waitMs} ms${sent ? '' : ' (TLS handshake unfinished)'}`)),
        waitMs,
      );

      const drain = (): void => {
        while (!settled && buffered.length >= 4) {
          let length: number;
          try {
            length = packetLength(buffered);
          } catch (error) {
            if (!(error instanceof RadiusDecodeError)) throw error;
            // Nothing marks where the next packet would start: the stream is lost.
            return fail(new ServerTrouble('bad-reply', `${this.name}: unframeable RadSec stream: ${error.message}`, { cause: error }));
          }
          if (buffered.length < length) return;
          const frame = buffered.subarray(0, length);
          buffered = buffered.subarray(length);
          const result = this.#receive(frame, identifier, options.check);
          if (result.ok) return finish(() => resolve(result.value));
          this.#ignore(ignored, result.problem, { what, identifier });
        }
      };

      signal.addEventListener('abort', onAbort, { once: true });
      socket.setNoDelay(true);
      socket.once('secureConnect', () => {
        sent = true;
        this.#log.debug({ what, identifier, protocol: socket.getProtocol() }, 'RADIUS request sent over TLS');
        socket.write(packet);
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        drain();
      });
      socket.on('error', (error) => fail(this.#trouble(error)));
      socket.on('close', () => fail(ignored.trouble(this.name, 'closed the connection without a valid reply', 'network')));
    });
  }

  /** Decodes octets from the server and matches them to the request before `check` sees them. */
  #receive<T>(octets: Buffer, identifier: number, check: (reply: RadiusPacket) => Check<T>): Check<T> {
    let reply: RadiusPacket;
    try {
      reply = decodePacket(octets);
    } catch (error) {
      if (error instanceof RadiusDecodeError) return { ok: false, problem: `undecodable: ${error.message}` };
      throw error;
    }
    if (reply.identifier !== identifier) return { ok: false, problem: `Identifier ${reply.identifier} does not match ${identifier}` };
    return check(reply);
  }

  #ignore(ignored: IgnoredReplies, problem: string, fields: object): void {
    ignored.add(problem);
    this.#log.warn({ ...fields, problem }, 'RADIUS reply ignored');
  }

  async #target(): Promise<Target> {
    const { host, port } = this.#options.server;
    const family = isIP(host);
    if (family === 4 || family === 6) return { address: host, family, port };
    const resolved = await lookup(host);
    return { address: resolved.address, family: resolved.family === 6 ? 6 : 4, port };
  }

  #deadline(what: string, progress: string, signal: AbortSignal): ServerTrouble {
    return new ServerTrouble('deadline', `${this.name}: deadline reached waiting for the reply to the ${what} (${progress})`, { cause: signal.reason });
  }

  #trouble(error: Error): ServerTrouble {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      const what = this.kind === 'radsec' ? 'connection refused' : 'port unreachable';
      return new ServerTrouble('refused', `${this.name}: ${what} (nothing listens there)`, { cause: error });
    }
    if (isCertificateError(error)) {
      this.#log.warn({ code, detail: error.message }, 'RadSec server certificate rejected; not using this server');
      return new ServerTrouble('network', `${this.name}: TLS certificate rejected (${code}: ${error.message})`, { cause: error });
    }
    return new ServerTrouble('network', `${this.name}: ${error.message}`, { cause: error });
  }
}

/** Replies ignored during one exchange: when nothing valid came, they turn a timeout into a bad reply. */
class IgnoredReplies {
  #count = 0;
  #last: string | undefined;

  add(problem: string): void {
    this.#count++;
    this.#last = problem;
  }

  trouble(name: string, what: string, otherwise: 'timeout' | 'network' = 'timeout'): ServerTrouble {
    if (this.#count === 0) return new ServerTrouble(otherwise, `${name}: ${what}`);
    return new ServerTrouble('bad-reply', `${name}: ${what}; ${this.#count} reply(ies) ignored, the last: ${this.#last}`);
  }
}
