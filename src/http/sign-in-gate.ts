import type { Request, RequestHandler, Response } from 'express';
import { wantsJson } from './answers.js';
import { localRedirectTarget } from './local-redirect.js';

/** The last policy: a signed-in user's request goes to NetBox; anybody else is sent to sign in, or told to (API). */
export function signInGate({ proxy }: { readonly proxy: (req: Request, res: Response) => void }): RequestHandler {
  return (req: Request, res: Response) => {
    if (req.session.user) proxy(req, res);
    else if (wantsJson(req)) res.status(401).json({ detail: 'Authentication required: sign in at /-/login or send a NetBox API token.' });
    else res.redirect(302, `/-/login?next=${encodeURIComponent(localRedirectTarget(req.originalUrl))}`);
  };
}
