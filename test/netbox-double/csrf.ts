import { randomAlnum } from './state.js';

// Django's CSRF scheme: the cookie holds a 32-char secret; forms and pages carry a 64-char masked copy that changes
// on every render, so a proxy or client comparing raw strings would fail just as it would against real NetBox.
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_LENGTH = 32;

export function newCsrfSecret(): string {
  return randomAlnum(SECRET_LENGTH);
}

export function isCsrfSecret(value: string | undefined): value is string {
  return value !== undefined && value.length === SECRET_LENGTH && [...value].every((c) => CHARS.includes(c));
}

export function maskCsrfSecret(secret: string): string {
  const mask = randomAlnum(SECRET_LENGTH);
  let cipher = '';
  for (let i = 0; i < SECRET_LENGTH; i++) {
    cipher += CHARS[(CHARS.indexOf(secret[i] ?? '') + CHARS.indexOf(mask[i] ?? '')) % CHARS.length];
  }
  return mask + cipher;
}

function unmask(token: string): string {
  const mask = token.slice(0, SECRET_LENGTH);
  const cipher = token.slice(SECRET_LENGTH);
  let secret = '';
  for (let i = 0; i < SECRET_LENGTH; i++) {
    const index = CHARS.indexOf(cipher[i] ?? '') - CHARS.indexOf(mask[i] ?? '');
    secret += CHARS[(index + CHARS.length) % CHARS.length];
  }
  return secret;
}

export interface CsrfRequest {
  readonly secure: boolean;
  /** What Django's request.get_host() returns (X-Forwarded-Host first: NetBox sets USE_X_FORWARDED_HOST). */
  readonly host: string;
  readonly origin: string | undefined;
  readonly referer: string | undefined;
  /** Secret from the csrftoken cookie, when it is well-formed. */
  readonly cookieSecret: string | undefined;
  readonly formToken: string | undefined;
  readonly headerToken: string | undefined;
}

/** Django's CsrfViewMiddleware for an unsafe method: the failure reason, or undefined when the request passes. */
export function csrfFailure(request: CsrfRequest): string | undefined {
  const scheme = request.secure ? 'https' : 'http';
  if (request.origin !== undefined) {
    if (request.origin !== `${scheme}://${request.host}`) {
      return `Origin checking failed - ${request.origin} does not match any trusted origins.`;
    }
  } else if (request.secure) {
    const refererFailure = checkReferer(request.referer, request.host);
    if (refererFailure) return refererFailure;
  }
  if (request.cookieSecret === undefined) return 'CSRF cookie not set.';
  const fromForm = request.formToken !== undefined && request.formToken !== '';
  const token = fromForm ? request.formToken : request.headerToken;
  const source = fromForm ? 'POST' : "the 'X-Csrftoken' HTTP header";
  if (token === undefined || token === '') return 'CSRF token missing.';
  if (token.length !== SECRET_LENGTH && token.length !== 2 * SECRET_LENGTH) {
    return `CSRF token from ${source} has incorrect length.`;
  }
  if (![...token].every((c) => CHARS.includes(c))) return `CSRF token from ${source} has invalid characters.`;
  const secret = token.length === SECRET_LENGTH ? token : unmask(token);
  return secret === request.cookieSecret ? undefined : `CSRF token from ${source} incorrect.`;
}

function checkReferer(referer: string | undefined, host: string): string | undefined {
  if (referer === undefined) return 'Referer checking failed - no Referer.';
  let parsed: URL;
  try {
    parsed = new URL(referer);
  } catch {
    return 'Referer checking failed - Referer is malformed.';
  }
  if (parsed.protocol !== 'https:') return 'Referer checking failed - Referer is insecure while host is secure.';
  if (parsed.host.toLowerCase() !== host.toLowerCase()) {
    return `Referer checking failed - ${referer} does not match any trusted origins.`;
  }
  return undefined;
}
