/**
 * One TCP or TLS connection to a TACACS+ server, carrying whole packets. Every step (connect with its TLS
 * handshake, then each wait for a reply) has its own timeout, and the caller's AbortSignal ends any step at once.
 * Whatever goes wrong comes out as ServerTrouble, so the failover chain moves on.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import type { Logger } from '../../log.js';
import { ServerTrouble } from '../types.js';
import { HEADER_LENGTH, TacacsProtocolError, decodeHeader } from './codec.js';
import { isCertificateError, tlsConnectOptions, type TlsMaterial } from './tls.js';

export interface Endpoint {
  /** `host:port` as configured, for logs and errors. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Plain TCP obfuscates bodies with the shared key (RFC 8907 §4.5); TLS never does (RFC 9887 §4). */
  readonly transport: { readonly kind: 'tcp'; readonly key: string } | { readonly kind: 'tls'; readonly material: TlsMaterial };
}

export interface StepOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
}

interface PendingStep {
  readonly reject: (error: ServerTrouble) => void;
  readonly timer: NodeJS.Timeout;
}

export class TacacsConnection {
  readonly #socket: Socket;
  readonly #endpoint: Endpoint;
  readonly #options: StepOptions;
  #buffered: Buffer = Buffer.alloc(0);
  #pending: PendingStep | undefined;
  #onData: (() => void) | undefined;
  /** Set once the connection can no longer deliver anything; later steps fail with it at once. */
  #failure: ServerTrouble | undefined;

  static async open(endpoint: Endpoint, options: StepOptions): Promise<TacacsConnection> {
    const tls = endpoint.transport.kind === 'tls';
    const socket =
      endpoint.transport.kind === 'tls'
        ? tlsConnect(tlsConnectOptions(endpoint.host, endpoint.port, endpoint.transport.material))
        : netConnect({ host: endpoint.host, port: endpoint.port });
    const connection = new TacacsConnection(socket, endpoint, options);
    try {
      await connection.#step(tls ? 'TLS handshake' : 'connection', (done) => socket.once(tls ? 'secureConnect' : 'connect', () => done(undefined)));
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  private constructor(socket: Socket, endpoint: Endpoint, options: StepOptions) {
    this.#socket = socket;
    this.#endpoint = endpoint;
    this.#options = options;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#onData?.();
    });
    socket.on('error', (error) => this.#fail(this.#trouble(error)));
    socket.on('close', () => this.#fail(new ServerTrouble('network', `${endpoint.name}: closed the connection before answering`)));
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  send(packet: Buffer): void {
    if (this.#failure === undefined) this.#socket.write(packet);
  }

  /** The next whole packet (header and body, as received). */
  receive(): Promise<Buffer> {
    // A reply that arrived together with the server's close is still the answer.
    const early = this.#takePacket();
    if (early) return Promise.resolve(early);
    return this.#step('reply', (done) => {
      this.#onData = () => {
        const packet = this.#takePacket();
        if (packet) done(packet);
      };
      this.#onData();
    });
  }

  /** Idempotent. No single-connect: the connection ends with its session (RFC 8907 §4.3, RFC 9887 §3.2). */
  close(): void {
    this.#fail(new ServerTrouble('network', `${this.#endpoint.name}: connection closed`));
  }

  #takePacket(): Buffer | undefined {
    if (this.#buffered.length < HEADER_LENGTH) return undefined;
    let length: number;
    try {
      // Read before the body arrives, so an absurd length fails now instead of waiting for 4 GiB.
      length = decodeHeader(this.#buffered).length;
    } catch (error) {
      if (!(error instanceof TacacsProtocolError)) throw error;
      this.#fail(new ServerTrouble('bad-reply', `${this.#endpoint.name}: ${error.message}`, { cause: error }));
      return undefined;
    }
    if (this.#buffered.length < HEADER_LENGTH + length) return undefined;
    const packet = this.#buffered.subarray(0, HEADER_LENGTH + length);
    this.#buffered = this.#buffered.subarray(HEADER_LENGTH + length);
    return packet;
  }

  /** Runs one step: `arm` calls `done` on success; a timeout, the abort signal or a connection failure end it first. */
  #step<T>(what: string, arm: (done: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      if (this.#options.signal?.aborted) return reject(this.#deadline());
      const timer = setTimeout(
        () => this.#fail(new ServerTrouble('timeout', `${this.#endpoint.name}: no ${what} within ${this.#options.timeoutMs} ms`)),
        this.#options.timeoutMs,
      );
      this.#pending = { reject, timer };
      arm((value) => {
        if (this.#pending?.timer !== timer) return;
        clearTimeout(timer);
        this.#pending = undefined;
        this.#onData = undefined;
        resolve(value);
      });
    });
  }

  /** The first failure sticks and ends the pending step; the socket goes with it. */
  #fail(trouble: ServerTrouble): void {
    this.#failure ??= trouble;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const pending = this.#pending;
    this.#pending = undefined;
    this.#onData = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(this.#failure);
    }
    this.#socket.destroy();
  }

  readonly #onAbort = (): void => this.#fail(this.#deadline());

  #deadline(): ServerTrouble {
    return new ServerTrouble('deadline', `${this.#endpoint.name}: login deadline reached`, { cause: this.#options.signal?.reason });
  }

  #trouble(error: Error): ServerTrouble {
    const name = this.#endpoint.name;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return new ServerTrouble('refused', `${name}: connection refused (nothing listens there)`, { cause: error });
    if (isCertificateError(error)) {
      this.#options.logger.warn({ server: name, code, detail: error.message }, 'TACACS+ server certificate rejected; not using this server');
      return new ServerTrouble('network', `${name}: TLS certificate rejected (${code}: ${error.message})`, { cause: error });
    }
    return new ServerTrouble('network', `${name}: ${error.message}`, { cause: error });
  }
}
