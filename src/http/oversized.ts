import type { Request, Response } from 'express';

/** How long, and how much more, an oversized body is read and thrown away before the connection is cut. */
const LINGER_MS = 5_000;

/**
 * 413, then nginx's lingering close: a client still sending its body reads no answer if the connection is simply
 * closed under it (its next write meets a reset), so what is still coming is read and discarded for a few seconds,
 * and only then, if the client is still sending, is the connection cut.
 */
export function refuseOversizedBody(req: Request, res: Response, message: string): void {
  req.unpipe();
  if (!req.complete) {
    const cut = setTimeout(() => req.socket.destroy(), LINGER_MS);
    cut.unref();
    req.once('end', () => clearTimeout(cut));
    req.once('close', () => clearTimeout(cut));
    req.resume();
  }
  if (res.headersSent) res.destroy();
  else res.status(413).type('text/plain').send(message);
}
