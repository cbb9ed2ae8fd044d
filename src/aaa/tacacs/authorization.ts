/**
 * What the gateway asks for in a TACACS+ authorization REQUEST and how it reads the arguments of a PASS
 * (RFC 8907 §6, §8).
 */
import { normaliseAttributes, type AttributeBag, type RawAttribute } from '../attributes.js';
import { parseArgument, TacacsProtocolError } from './codec.js';

/**
 * Mandatory arguments the gateway can always act on: the ones that echo its own request, and the ones the
 * built-in role rules read (a rules file adds the names it reads; see createTacacsAuthenticator). RFC 8907 §6.1: "If the client receives a mandatory argument that it cannot
 * handle, it MUST consider the authorization to have failed." Declaring a name here that nothing reads would
 * silently drop what the server insists on. A server that only wants to inform sends the optional form
 * (`name*value`), which is always kept.
 */
export const HANDLED_MANDATORY_ARGUMENTS: readonly string[] = ['service', 'cmd', 'priv-lvl', 'role', 'shell:roles', 'shell:role', 'cisco-av-pair'];

/**
 * §8.2: `service` MUST always be present, and `cmd` MUST be present when the service is `shell`; an empty value
 * names the shell itself, i.e. the session we are opening. We send it mandatory (`cmd=`) as the README checklist
 * asks: the request is about the shell and nothing else (Cisco IOS sends the optional form `cmd*` for the same
 * exec authorization). Other services define no `cmd`.
 */
export function authorizationArguments(service: string): string[] {
  return service === 'shell' ? ['service=shell', 'cmd='] : [`service=${service}`];
}

export type ArgumentsOutcome =
  | { readonly kind: 'ok'; readonly attributes: AttributeBag; readonly disregarded: readonly string[] }
  | { readonly kind: 'unhandled'; readonly argument: string };

/**
 * The arguments of a PASS_ADD or PASS_REPL reply as an attribute bag (`normaliseAttributes`: mandatory and
 * optional alike, each value flagged optional for `name*value`; role lists such as `shell:roles="a b"` unpacked
 * into one value per role; `cisco-av-pair` values also split into their inner pair). Throws TacacsProtocolError
 * for an argument without a name, which only a broken server or a wrong key produces.
 *
 * §8.1: a numeric argument we cannot accommodate counts as not handled, so a privilege level outside 0-15 fails
 * the authorization when mandatory and is disregarded when optional — it can never raise anybody's privileges.
 */
export function interpretArguments(args: readonly string[], handledMandatory: ReadonlySet<string>): ArgumentsOutcome {
  const kept: RawAttribute[] = [];
  const disregarded: string[] = [];
  for (const raw of args) {
    let argument;
    try {
      argument = parseArgument(raw);
    } catch (error) {
      // Not name=value or name*value: nothing the gateway can honour, so nothing it may ignore either.
      if (error instanceof TacacsProtocolError) return { kind: 'unhandled', argument: raw };
      throw error;
    }
    const { name, value, mandatory } = argument;
    const lower = name.toLowerCase();
    const usable = lower !== 'priv-lvl' || (/^\d{1,2}$/.test(value) && Number(value) <= 15);
    if (mandatory && (!usable || !handledMandatory.has(lower))) return { kind: 'unhandled', argument: raw };
    if (usable) kept.push({ name, value, optional: !mandatory });
    else disregarded.push(raw);
  }
  return { kind: 'ok', attributes: normaliseAttributes(kept), disregarded };
}
