import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** Ours on NetBox's pages too: they make no page worse, and HSTS must cover the whole host. */
const KEPT_ON_PROXIED = new Set(['x-content-type-options', 'strict-transport-security']);

export interface SecurityHeaders {
  /** First in the chain, so every answer the gateway makes itself (pages, errors, redirects, 401s) carries them. */
  readonly middleware: RequestHandler;
  /** Before NetBox's answer is written: NetBox's pages keep NetBox's own policy, plus nosniff and HSTS. */
  forNetboxAnswer(res: ServerResponse): void;
}

/**
 * helmet with the strict policy of the gateway's own pages (nothing but its own stylesheet and images, no
 * framing, forms only to itself), and HSTS whenever the request came over HTTPS, directly or as a trusted proxy
 * says. HSTS is never sent over plain HTTP, where a browser ignores it and where it would only confuse a test setup.
 */
export function securityHeaders({ hstsMaxAgeSeconds }: { readonly hstsMaxAgeSeconds: number }): SecurityHeaders {
  const own = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: false,
  });
  const hsts = hstsMaxAgeSeconds > 0 ? helmet.strictTransportSecurity({ maxAge: hstsMaxAgeSeconds, includeSubDomains: false }) : undefined;
  const ownHeaderNames = headerNamesSetBy(own);

  return {
    middleware: (req: Request, res: Response, next: NextFunction) => {
      own(req, res, (error?: unknown) => {
        if (error !== undefined) return next(error);
        if (hsts !== undefined && req.secure) hsts(req, res, () => next());
        else next();
      });
    },
    forNetboxAnswer: (res) => {
      for (const name of ownHeaderNames) if (!KEPT_ON_PROXIED.has(name)) res.removeHeader(name);
    },
  };
}

/** Which headers a helmet middleware sets, learnt once by running it against a recorder: no list to keep in step. */
function headerNamesSetBy(middleware: ReturnType<typeof helmet>): string[] {
  const names: string[] = [];
  const recorder = {
    setHeader: (name: string) => names.push(name.toLowerCase()),
    removeHeader: () => undefined,
  };
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return names;
}
