import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenCheck } from '../netbox/token-check.js';
import { renderUnavailable } from './answers.js';

/**
 * Existing automation with its own NetBox token keeps working when the gateway replaces nginx; the token has to be
 * one NetBox accepts (asked with the client's address, as NetBox checks a token's allowed IPs), or the request never
 * reaches NetBox. Only NetBox's token paths, and only without a gateway session.
 */
export function tokenPassThrough({ tokenCheck, proxy }: { readonly tokenCheck: TokenCheck; readonly proxy: (req: Request, res: Response) => void }): RequestHandler {
  // Not an async function: the signed-in page views that pass straight through should not each make a promise.
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.session.user || !isTokenPath(req.path)) return next();
    const authorization = req.get('authorization');
    if (authorization === undefined || !isNetboxToken(authorization)) return next();
    tokenCheck.verdict(authorization, req.ip ?? '').then((verdict) => {
      if (verdict === 'valid') proxy(req, res);
      else if (verdict === 'invalid') res.status(403).json({ detail: 'Invalid token.' });
      else renderUnavailable(req, res, 502);
    }, next);
  };
}

function isTokenPath(path: string): boolean {
  return path.startsWith('/api/') || path.startsWith('/graphql/') || path.startsWith('/media/');
}

function isNetboxToken(authorization: string): boolean {
  return /^Token\s+\S+/i.test(authorization) || /^Bearer\s+nbt_\S+/i.test(authorization);
}
