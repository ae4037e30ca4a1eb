import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * An action module's source as the sandbox runs it: the TypeScript file compiled to CommonJS
 * (`exports.onExecuteCustomTokenExchange = …`, `require('jose')`), its type imports erased.
 * Compiling does not type-check: `tsc` does that for the whole project, action files included.
 *
 * A server without TypeScript at run time compiles its actions in its build instead (a tsconfig
 * with `"module": "commonjs"` over the actions folder) and reads the emitted `.js` file here.
 */
export function loadActionCode(file: URL): string {
  const source = readFileSync(file, 'utf8');
  if (file.pathname.endsWith('.js')) return source;
  const { outputText } = ts.transpileModule(source, {
    fileName: file.pathname,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  return outputText;
}
