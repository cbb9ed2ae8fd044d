import type { Request, Response } from 'express';
import type { SignInResult } from '../login/sign-in.js';
import type { LoginRegulation } from '../regulation/regulator.js';

/** One answer for every ban: it must not tell whether the user exists, nor whether the name or the address is banned. */
export const BANNED_MESSAGE = 'Too many failed sign-in attempts. Please try again later.';

/**
 * A sign-in step that goes through login regulation: unless the user name or the client address is banned it runs,
 * and its outcome is counted; while banned no AAA server is asked, the answer is 429 with Retry-After, and the step
 * resolves to undefined. Only a rejection counts as a failure: invalid input, an unreachable server or a refused
 * role say nothing about a guessed password.
 */
export type RegulatedStep = (
  req: Request,
  res: Response,
  attempt: { readonly username: string; readonly clientAddress: string; readonly next: string },
  step: () => Promise<SignInResult>,
) => Promise<SignInResult | undefined>;

export function regulatedSignIn(regulation: LoginRegulation, refuse: (req: Request, res: Response, next: string) => void): RegulatedStep {
  return async (req, res, attempt, step) => {
    const subjects = regulation.subjects(attempt.username, attempt.clientAddress);
    const verdict = await regulation.check(subjects);
    if (verdict.kind === 'banned') {
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      refuse(req, res, attempt.next);
      return undefined;
    }
    const result = await step();
    if (result.kind === 'rejected') await regulation.failed(subjects);
    else if (result.kind === 'signed-in') await regulation.succeeded(subjects);
    return result;
  };
}
