import type { Request, Response } from 'express';

/** API and GraphQL clients get JSON; browsers get pages. */
export function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path.startsWith('/graphql/');
}

/** The page (or JSON) a client gets when NetBox cannot be reached or answered with something the gateway refuses. */
export function renderUnavailable(req: Request, res: Response, status: number): void {
  if (wantsJson(req)) res.status(status).json({ detail: 'NetBox is unavailable.' });
  else res.status(status).render('unavailable', {});
}
