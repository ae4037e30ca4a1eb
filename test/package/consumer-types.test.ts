import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { packedPackage, ROOT } from '../support/packed-package.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
};

/** Each `@types/express` major a host may have, as installed side by side in node_modules. */
const EXPRESS_TYPES = [
  { major: 4, installedAs: '@types/express-4' },
  { major: 5, installedAs: '@types/express' },
];

/** A consumer's strict tsconfig: every declaration file checked, ours included. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    types: ['node'],
    noEmit: true,
  },
  files: ['consumer.ts'],
};

/**
 * A host project in a fresh directory: the package as npm would install it (its package.json and
 * the files `npm pack` lists), its dependencies, Express and the given `@types/express`, and
 * nothing else from this repository: no `@types/passport`, no devDependencies.
 */
function consumerProject(expressTypes: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cte-consumer-'));
  const modules = join(dir, 'node_modules');
  const installed = join(modules, pkg.name);
  mkdirSync(installed, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(installed, 'dist'), { recursive: true });
  const link = (name: string, from = name) => {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', from), join(modules, name), 'dir');
  };
  for (const name of Object.keys(pkg.dependencies)) link(name);
  link('express');
  link('@types/node');
  link('@types/express', expressTypes);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
  cpSync(join(ROOT, 'test', 'package', 'consumer', 'consumer.ts.txt'), join(dir, 'consumer.ts'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return dir;
}

describe('the package’s declarations in a strict TypeScript consumer (skipLibCheck: false)', function () {
  this.timeout(180_000);

  before(async () => {
    await packedPackage();
  });

  for (const { major, installedAs } of EXPRESS_TYPES) {
    it(`compile with @types/express ${major}: the router mounted, typed actions, the handles and testAction`, async () => {
      const dir = consumerProject(installedAs);
      try {
        const types = JSON.parse(
          readFileSync(join(dir, 'node_modules', '@types', 'express', 'package.json'), 'utf8'),
        ) as { version: string };
        expect(types.version.split('.')[0]).to.equal(String(major));
        const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
        const result = await run(process.execPath, [tsc, '-p', '.', '--listFiles'], {
          cwd: dir,
          timeout: 150_000,
        }).catch((err: { stdout?: string }) => ({
          stdout: `FAILED\n${err.stdout ?? String(err)}`,
        }));
        const lines = result.stdout.split('\n');
        const errors = lines.filter((line) => line.includes('error TS') || line === 'FAILED');
        expect(errors, 'compiler errors').to.deep.equal([]);
        // The package's own declarations were checked, with that major's Express types.
        expect(lines.some((line) => line.endsWith(`${pkg.name}/dist/index.d.ts`))).to.equal(true);
        expect(lines.some((line) => line.endsWith(`${pkg.name}/dist/testing/index.d.ts`))).to.equal(
          true,
        );
        expect(lines.some((line) => line.includes(`/${installedAs}/index.d.ts`))).to.equal(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
