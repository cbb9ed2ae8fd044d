import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';

const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/**
 * Files anyone may fetch without a session: the gateway's own (`/-/static/`) and NetBox's (`/static/`), the latter
 * from NETBOX_STATIC_ROOT or proxied. A proxied static request is a GET or HEAD of a path under `/static/` (the
 * hygiene step has made it a canonical path) with no body, and nothing else passes this way.
 */
export function staticFiles({ staticRoot, proxy }: { readonly staticRoot: string | undefined; readonly proxy: (req: Request, res: Response) => void }): RequestHandler {
  const router = Router();
  router.use('/-/static', express.static(PUBLIC_DIR, { fallthrough: false, index: false, maxAge: '1h' }));
  if (staticRoot !== undefined) {
    router.use('/static', express.static(staticRoot, { fallthrough: false, index: false, maxAge: '1d' }));
    return router;
  }
  // Not a mount: a mount strips `/static` from req.url, and the proxy would then forward any path to NetBox.
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/static/')) next();
    else if (req.method !== 'GET' && req.method !== 'HEAD') res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('Static files are read-only.');
    else if (hasBody(req)) res.status(400).set('Connection', 'close').type('text/plain').send('Bad request: a static file request carries no body.');
    else proxy(req, res);
  });
  return router;
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}
