import { readFileSync } from 'node:fs';

/**
 * The guest files (lib/sandbox/guest/*.js), in the order the prelude runs their top-level
 * statements. They are scripts sharing one scope: the prelude function this module builds.
 */
const GUEST_FILES = [
  'encoding.js',
  'json-nesting.js',
  'url.js',
  'crypto.js',
  'fetch.js',
  'jose.js',
  'guards.js',
  'boundary.js',
  'console.js',
  'execution.js',
  'lockdown.js',
  'prelude.js',
] as const;

/**
 * The prelude's parameters (declared for the type checker in guest/guest-globals.d.ts). The host
 * functions are isolated-vm Callbacks; they exist only as parameters of the prelude's closure, so
 * action code can never call them.
 */
export const PRELUDE_PARAMETERS = [
  'hostApi',
  'hostCache',
  'hostConsole',
  'hostInvoke',
  'hostFinish',
  'hostUrl',
  'hostRandom',
  'ENTRY_END',
  'MEMORY_LIMIT_BYTES',
] as const;

/** What every entry into a context throws out of the isolate once it is over. */
export const ENTRY_END = 'express-custom-token-exchange:entry-end';

let prelude: string | undefined;

/**
 * The prelude: one function expression, run once per context, taking {@link PRELUDE_PARAMETERS}
 * and returning the frozen control object `{ execute, settle, abandon, install }`. Read from the
 * guest files on first use and kept (they ship next to this module, see `npm run build`).
 */
export function preludeSource(): string {
  prelude ??= [
    `(function (${PRELUDE_PARAMETERS.join(', ')}) {`,
    "'use strict';",
    ...GUEST_FILES.map((name) =>
      readFileSync(new URL(`../guest/${name}`, import.meta.url), 'utf8'),
    ),
    'return control;',
    '})',
  ].join('\n');
  return prelude;
}

/** The parameters every action's module body sees, as in a Node module plus the sandbox's own. */
export const ACTION_PARAMETERS = [
  'exports',
  'require',
  'module',
  'console',
  'fetch',
  'setTimeout',
  'clearTimeout',
] as const;

/**
 * The action's source inside a function expression, compiled once per version and called afresh
 * per execution. The source starts on the wrapper's second line: compile with `lineOffset: -1` and
 * V8 reports the author's own line numbers. The closing line stands alone so that a trailing
 * `// comment` in the source cannot swallow it.
 */
export function wrapActionSource(code: string): string {
  return `(function (${ACTION_PARAMETERS.join(', ')}) {\n${code}\n})`;
}
