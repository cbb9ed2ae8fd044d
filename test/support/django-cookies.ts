import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Debian's python3-django installs for the system interpreter; a python3 found earlier on PATH (pyenv, a venv)
 * may not see it, and this must be Debian's Django, not whatever else is around.
 */
const PYTHON = '/usr/bin/python3';

/**
 * Reads one JSON request per line and answers each with Django's parse_cookie of every string in it. Strings go
 * both ways as lists of code points: header text is Latin-1, and JSON escapes or a UTF-8 pipe must not be what
 * decides whether \x85 survives the trip.
 */
const ORACLE = String.raw`
import json, sys
import django
from django.http.cookie import parse_cookie
def text(points): return ''.join(map(chr, points))
def points(text): return [ord(c) for c in text]
sys.stdout.write(json.dumps({'django': django.get_version()}) + '\n'); sys.stdout.flush()
for line in iter(sys.stdin.readline, ''):
    headers = json.loads(line)
    answer = [[[points(k), points(v)] for k, v in parse_cookie(text(h)).items()] for h in headers]
    sys.stdout.write(json.dumps(answer) + '\n'); sys.stdout.flush()
`;

/** What Django makes of a Cookie header: name → value, the last of duplicate names winning. */
export type DjangoCookies = ReadonlyMap<string, string>;

/** One python3 process running Django's parse_cookie, for many questions in turn. */
export interface DjangoCookieParser {
  readonly djangoVersion: string;
  parse(headers: readonly string[]): Promise<DjangoCookies[]>;
  close(): void;
}

const fromPoints = (points: readonly number[]): string => String.fromCodePoint(...points);
const toPoints = (text: string): number[] => Array.from(text, (c) => c.codePointAt(0)!);

/** Starts the parser; rejects (never resolves to a stand-in) when python3 or Django is missing. */
export async function startDjangoCookieParser(): Promise<DjangoCookieParser> {
  const child = spawn(PYTHON, ['-c', ORACLE], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= new Error(`${PYTHON} with Django (apt-get install python3-django) is needed for this test: ${error.message}${stderr ? `\n${stderr}` : ''}`);
    for (const waiter of waiting.splice(0)) waiter.reject(failure);
  };
  child.on('error', fail);
  child.stdin.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`python3 exited (${signal ?? code})`)));
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  const nextLine = (): Promise<string> =>
    failure ? Promise.reject(failure) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));

  const hello = JSON.parse(await nextLine()) as { django: string };
  return {
    djangoVersion: hello.django,
    async parse(headers) {
      const answer = nextLine();
      child.stdin.write(`${JSON.stringify(headers.map(toPoints))}\n`);
      const parsed = JSON.parse(await answer) as Array<Array<[number[], number[]]>>;
      return parsed.map((pairs) => new Map(pairs.map(([name, value]) => [fromPoints(name), fromPoints(value)])));
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}
