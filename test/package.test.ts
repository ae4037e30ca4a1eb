import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import ts from 'typescript';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PUBLIC_API = ['customTokenExchange', 'MemoryUserStore'];
/** What each subpath export must offer at run time. */
const SUBPATH_API: Record<string, string[]> = {
  '.': PUBLIC_API,
  './redis': ['createRedisAdapter', 'RedisReplayStore', 'RedisActionCacheStore'],
  './postgres': [
    'migrate',
    'PostgresReplayStore',
    'PostgresUserStore',
    'PostgresLogSink',
    'PostgresRetention',
  ],
  './testing': [
    'testAction',
    'replayStoreContract',
    'actionCacheStoreContract',
    'userStoreContract',
    'queryableLogSinkContract',
  ],
};
/** Clients the Redis and PostgreSQL stores take from the application: never dependencies. */
const OPTIONAL_PEERS = ['@electric-sql/pglite', 'ioredis', 'pg', 'redis'];

interface PackageJson {
  type?: string;
  main?: string;
  types?: string;
  files?: string[];
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every `.ts` file under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `express` for `express`, `@scope/name` for `@scope/name/sub/path`, `jose` for `jose/x`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Module specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`. */
function specifiersOf(source: string): string[] {
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  return [...source.matchAll(pattern)].map((match) => match[2]!);
}

describe('the npm package', () => {
  describe('build output (tsc -p tsconfig.build.json)', () => {
    let outDir: string;

    before(async function () {
      this.timeout(60_000);
      outDir = await mkdtemp(join(tmpdir(), 'cte-build-'));
      await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], {
        cwd: ROOT,
        timeout: 55_000,
      });
    });

    after(async () => {
      if (outDir) await rm(outDir, { recursive: true, force: true });
    });

    it('emits index.js and index.d.ts at the root of the output, and only lib/', () => {
      expect(existsSync(join(outDir, 'index.js')), 'index.js').to.equal(true);
      expect(existsSync(join(outDir, 'index.d.ts')), 'index.d.ts').to.equal(true);
      expect(existsSync(join(outDir, 'custom-token-exchange.js'))).to.equal(true);
      for (const stray of ['lib', 'test', 'examples', 'bench']) {
        expect(existsSync(join(outDir, stray)), stray).to.equal(false);
      }
    });

    it('declares customTokenExchange, MemoryUserStore and the handles’ types in index.d.ts, and testAction only under /testing', () => {
      const file = join(outDir, 'index.d.ts');
      const program = ts.createProgram([file], {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: [],
        noEmit: true,
        skipLibCheck: true,
      });
      const checker = program.getTypeChecker();
      const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      const exported = new Map(
        checker.getExportsOfModule(moduleSymbol).map((symbol) => {
          const target =
            symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
          return [symbol.getName(), target] as const;
        }),
      );
      expect([...exported.keys()]).to.include.members([...PUBLIC_API, 'ManagementError']);
      const flags = (name: string) => exported.get(name)!.flags;
      expect(flags('customTokenExchange') & ts.SymbolFlags.Function).not.to.equal(0);
      expect(flags('MemoryUserStore') & ts.SymbolFlags.Class).not.to.equal(0);
      expect([...exported.keys()]).not.to.include('testAction');
      // Type-only exports are declared too: every handle a host writes code against.
      expect([...exported.keys()]).to.include.members([
        'CustomTokenExchangeOptions',
        'CustomTokenExchangeRouter',
        'UserStore',
        'Logger',
        'ManagementHandle',
        'ActionsHandle',
        'ProfilesHandle',
        'ClientsHandle',
        'ResourceServersHandle',
        'PostExchangeHookHandle',
        'TenantLogsHandle',
        'AttackProtectionHandle',
        'RefreshTokensHandle',
        'Action',
        'Profile',
        'ClientView',
        'ResourceServerView',
      ]);
    });

    it('loads as an ES module in plain Node and exports the runtime API', async function () {
      this.timeout(20_000);
      // Let the output resolve the project's dependencies, as an installed package would.
      await symlink(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
      await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
      const script =
        "const m = await import('./index.js');" +
        'console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));';
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outDir,
        timeout: 15_000,
      });
      const kinds = JSON.parse(stdout) as Record<string, string>;
      for (const name of PUBLIC_API) expect(kinds[name], name).to.equal('function');
    });

    it('serves every subpath export from the build, each loading in plain Node', async function () {
      this.timeout(20_000);
      if (!existsSync(join(outDir, 'node_modules'))) {
        await symlink(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
      }
      // The package's own exports map, relative to the build: the package imports itself by name.
      const exportsMap = JSON.parse(
        JSON.stringify(pkg.exports).replaceAll('./dist/', './'),
      ) as Record<string, unknown>;
      delete exportsMap['./package.json'];
      await writeFile(
        join(outDir, 'package.json'),
        JSON.stringify({
          name: 'express-custom-token-exchange',
          type: 'module',
          exports: exportsMap,
        }),
      );
      const script =
        'const out = {};' +
        `for (const sub of ${JSON.stringify(Object.keys(SUBPATH_API))}) {` +
        "  const m = await import('express-custom-token-exchange' + sub.slice(1));" +
        '  out[sub] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]));' +
        '}' +
        'console.log(JSON.stringify(out));';
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outDir,
        timeout: 15_000,
      });
      const kinds = JSON.parse(stdout) as Record<string, Record<string, string>>;
      for (const [subpath, names] of Object.entries(SUBPATH_API)) {
        for (const name of names)
          expect(kinds[subpath]?.[name], `${subpath} ${name}`).to.equal('function');
      }
      for (const subpath of Object.keys(SUBPATH_API)) {
        const types = (pkg.exports![subpath] as Record<string, string>).types!;
        expect(existsSync(join(outDir, types.replace('./dist/', ''))), types).to.equal(true);
      }
    });
  });

  describe('package.json', () => {
    it('is an ES module package whose "." export points at the build', () => {
      expect(pkg.type).to.equal('module');
      const root = pkg.exports!['.'] as Record<string, string>;
      expect(root).to.deep.equal({ types: './dist/index.d.ts', default: './dist/index.js' });
      // TypeScript reads conditions in order: "types" has to come first.
      expect(Object.keys(root)[0]).to.equal('types');
      expect(pkg.main).to.equal('./dist/index.js');
      expect(pkg.types).to.equal('./dist/index.d.ts');
      expect(pkg.files).to.include.members(['dist', 'CHANGELOG.md']);
    });

    it('exports ./redis, ./postgres and ./testing with their types first', () => {
      for (const subpath of ['./redis', './postgres', './testing']) {
        const entry = pkg.exports![subpath] as Record<string, string>;
        expect(Object.keys(entry), subpath).to.deep.equal(['types', 'default']);
        expect(entry.types).to.match(/^\.\/dist\/.+\/index\.d\.ts$/);
        expect(entry.default).to.equal(entry.types!.replace(/\.d\.ts$/, '.js'));
      }
    });

    it('takes the Redis and PostgreSQL clients as optional peers, never as dependencies', () => {
      for (const name of OPTIONAL_PEERS) {
        expect(pkg.dependencies ?? {}, name).not.to.have.property(name);
        expect(pkg.peerDependencies ?? {}, name).to.have.property(name);
        expect(pkg.peerDependenciesMeta?.[name], name).to.deep.equal({ optional: true });
      }
    });

    it('lists every package that lib/ imports under dependencies or peerDependencies', () => {
      const imported = new Map<string, string>();
      for (const file of sourceFiles(join(ROOT, 'lib'))) {
        for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
          if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
          imported.set(packageName(specifier), relative(ROOT, file));
        }
      }
      // The scan must find something, or it proves nothing.
      expect([...imported.keys()]).to.include.members(['express', 'jose', 'isolated-vm']);
      const dependencies = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
      const missing = [...imported]
        .filter(([name]) => !dependencies.includes(name))
        .map(([name, file]) => `${name} (imported by ${file})`);
      expect(missing, 'imported by lib/ but not in dependencies').to.deep.equal([]);
    });

    it("takes express from the host, Express 4.21+ or 5, so it runs the host's own parsers", () => {
      expect(pkg.peerDependencies).to.include({ express: '^4.21.0 || ^5.0.0' });
      expect(pkg.peerDependenciesMeta ?? {}).not.to.have.property('express');
      expect(pkg.dependencies).not.to.have.property('express');
      // Installed for the tests, both majors: the host pass-through tests run against each.
      expect(pkg.devDependencies).to.include({
        express: '^5.3.0',
        express4: 'npm:express@^4.21.2',
      });
    });
  });
});
