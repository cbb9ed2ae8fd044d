import { connect } from 'node:net';

export interface RawAnswer {
  /** Everything the server sent, as Latin-1 text. */
  readonly text: string;
  /** The first status code, when there was an answer. */
  readonly status: number | undefined;
  /** Header lines of the first answer, names lower-cased; repeated names keep every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** The server closed the connection before the timeout. */
  readonly closed: boolean;
}

/**
 * Sends exact bytes over a fresh TCP connection and collects what comes back until the server closes or
 * `timeoutMs` passes: what `fetch` would have normalised (paths, header names and values) goes out as written.
 */
export function sendRaw(baseUrl: string, request: string | Buffer, { timeoutMs = 3000 }: { timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(error);
    });
  });
}

function parseAnswer(text: string, closed: boolean): RawAnswer {
  const head = text.split('\r\n\r\n', 1)[0] ?? '';
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { text, status: status === undefined ? undefined : Number(status), headers, closed };
}

/** A GET as a browser's bytes, with `Connection: close` so the answer ends with the connection. */
export function rawGet(target: string, headerLines: readonly string[] = ['Host: gateway.test'], version = '1.1'): string {
  return `GET ${target} HTTP/${version}\r\n${[...headerLines, 'Connection: close'].join('\r\n')}\r\n\r\n`;
}
