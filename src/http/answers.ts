import type { Request, Response } from 'express';

/** API and GraphQL clients get JSON; browsers get pages. */
export function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path.startsWith('/graphql/');
}

/** The page (or JSON) a client gets while the gateway's store (Redis) cannot be reached: nothing was changed. */
export function renderStoreUnavailable(req: Request, res: Response): void {
  res.set('Retry-After', '5');
  if (wantsJson(req)) res.status(503).json({ detail: 'The login gateway cannot reach its session store; try again shortly.' });
  else res.status(503).render('store-unavailable', {});
}

/** The page (or JSON) a client gets when NetBox cannot be reached or answered with something the gateway refuses. */
export function renderUnavailable(req: Request, res: Response, status: number): void {
  if (wantsJson(req)) res.status(status).json({ detail: 'NetBox is unavailable.' });
  else res.status(status).render('unavailable', {});
}
