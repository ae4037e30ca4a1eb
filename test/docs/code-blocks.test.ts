import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import ts from 'typescript';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PRELUDES = join(ROOT, 'test', 'docs', 'preludes');
/** Where the extracted TypeScript blocks are compiled: inside the project, so that they resolve
 * its node_modules, and ignored by git. */
const SCRATCH = join(ROOT, '.scratch', 'docs-code-blocks');
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

/**
 * A fenced block of the README or a docs/ page. Its info string says what the test does with it:
 * - `ts`: a whole module, compiled with the package's types (imports of
 *   `express-custom-token-exchange` and its subpaths resolve to lib/);
 * - `ts prelude=NAME`: a fragment, compiled after test/docs/preludes/NAME.ts.txt, which declares what
 *   the fragment takes as already there (`cte`, `app`, ...);
 * - `sh run`: run with bash, and its own check (below) applied to what it printed;
 * - `sh`: not run (it installs, starts servers or needs Redis), but every `npm run` script and
 *   every file it names must exist;
 * - `js`: an action's code as it goes into `code` (or part of it): parsed as JavaScript;
 * - `json`: parsed;
 * - `text`, `http`: shapes and transcripts, shown as they are.
 */
interface Block {
  file: string;
  line: number;
  info: string;
  code: string;
}

const LANGUAGES = new Set(['ts', 'js', 'sh', 'json', 'text', 'http']);

function markdownFiles(): string[] {
  const docs = existsSync(join(ROOT, 'docs'))
    ? readdirSync(join(ROOT, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join('docs', name))
    : [];
  return ['README.md', ...docs];
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) {
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    }
    blocks.push({ file, line: start + 1, info: open[2]!.trim(), code: body.join('\n') });
  }
  return blocks;
}

const where = (block: Block) => `${block.file}:${block.line}`;
const docBlocks = markdownFiles().flatMap(blocksOf);

/** Checks of what a `sh run` block printed, by the block's first line. */
const RUN_CHECKS: Array<{ matches: RegExp; check: (stdout: string) => Promise<void> }> = [
  {
    // The production checklist's signing key: a private JWK the router accepts and publishes.
    matches: /generateKeyPairSync/,
    check: async (stdout) => {
      const jwk = JSON.parse(stdout) as Record<string, string>;
      expect(jwk).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwk.kid).to.match(/^[\w-]{8,}$/);
      expect(jwk.d).to.be.a('string');
      const { customTokenExchange } = await import('../../lib/index.js');
      const cte = customTokenExchange({
        issuer: 'https://auth.example.com/',
        clients: [],
        resourceServers: [],
        keys: [jwk as never],
      });
      try {
        const published = await cte.keys.list();
        expect(published.map((key) => key.kid)).to.deep.equal([jwk.kid]);
      } finally {
        await cte.close();
      }
    },
  },
];

describe('code blocks of the README and docs/', function () {
  this.timeout(240_000);

  it('every fence names its language, one the test knows, and a known prelude', () => {
    const unknown = docBlocks
      .filter((block) => {
        const [language, ...rest] = block.info.split(/\s+/);
        if (!LANGUAGES.has(language ?? '')) return true;
        return rest.some((word) => {
          const prelude = /^prelude=(.+)$/.exec(word);
          if (prelude) return !existsSync(join(PRELUDES, `${prelude[1]}.ts.txt`));
          return word !== 'run';
        });
      })
      .map((block) => `${where(block)} \`\`\`${block.info}`);
    expect(unknown).to.deep.equal([]);
  });

  after(() => {
    rmSync(SCRATCH, { recursive: true, force: true });
  });

  it('every TypeScript block compiles against the package’s types', () => {
    const tsBlocks = docBlocks.filter((block) => block.info.split(/\s+/)[0] === 'ts');
    expect(tsBlocks.length, 'TypeScript blocks found').to.be.greaterThan(10);
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(SCRATCH, { recursive: true });
    const files = new Map<string, { block: Block; offset: number }>();
    for (const block of tsBlocks) {
      const prelude = /prelude=(\S+)/.exec(block.info)?.[1];
      const head = prelude ? readFileSync(join(PRELUDES, `${prelude}.ts.txt`), 'utf8') : '';
      const name = join(SCRATCH, `${block.file.replace(/[/.]/g, '-')}-${block.line}.ts`);
      // `export {}` makes each block a module of its own, so names never clash between blocks.
      writeFileSync(name, `${head}${block.code}\nexport {};\n`);
      files.set(name, { block, offset: head.split('\n').length - 1 });
    }
    const lib = (path: string) => [relative(SCRATCH, join(ROOT, 'lib', path))];
    const program = ts.createProgram([...files.keys()], {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      types: ['node', 'mocha'],
      baseUrl: SCRATCH,
      paths: {
        'express-custom-token-exchange': lib('index.ts'),
        'express-custom-token-exchange/testing': lib('testing/index.ts'),
        'express-custom-token-exchange/redis': lib('stores/redis/index.ts'),
        'express-custom-token-exchange/postgres': lib('stores/postgres/index.ts'),
      },
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file && files.has(diagnostic.file.fileName))
      .map((diagnostic) => {
        const { block, offset } = files.get(diagnostic.file!.fileName)!;
        const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        return `${block.file}:${block.line + 1 + line - offset}: ${message}`;
      });
    const elsewhere = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => !diagnostic.file || !files.has(diagnostic.file.fileName))
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect([...errors, ...elsewhere].join('\n')).to.equal('');
  });

  it('every JavaScript block (action code) parses', () => {
    const broken = docBlocks
      .filter((block) => block.info === 'js')
      .flatMap((block) => {
        const { diagnostics = [] } = ts.transpileModule(block.code, {
          fileName: 'action.js',
          reportDiagnostics: true,
          compilerOptions: { allowJs: true, target: ts.ScriptTarget.ES2022 },
        });
        return diagnostics.map(
          (diagnostic) =>
            `${where(block)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
        );
      });
    expect(broken).to.deep.equal([]);
  });

  it('every JSON block parses', () => {
    const broken = docBlocks
      .filter((block) => block.info === 'json')
      .flatMap((block) => {
        try {
          JSON.parse(block.code);
          return [];
        } catch (err) {
          return [`${where(block)}: ${(err as Error).message}`];
        }
      });
    expect(broken).to.deep.equal([]);
  });

  it('every shell block names npm scripts and files that exist', () => {
    const missing = docBlocks
      .filter((block) => block.info.startsWith('sh'))
      .flatMap((block) =>
        block.code.split('\n').flatMap((line) => {
          const command = line.replace(/\s+#.*$/, '');
          const named = [...command.matchAll(/\bnpm run ([\w:-]+)/g)]
            .map((match) => match[1]!)
            .filter((script) => !(script in scripts))
            .map((script) => `npm script ${script}`);
          const paths = [...command.matchAll(/(?:^|\s)((?:examples|test|bench|lib|docs)\/\S+)/g)]
            .map((match) => match[1]!)
            .filter((path) => !existsSync(join(ROOT, path)));
          return [...named, ...paths].map((what) => `${where(block)}: ${what}`);
        }),
      );
    expect(missing).to.deep.equal([]);
  });

  for (const block of docBlocks.filter((candidate) => candidate.info === 'sh run')) {
    it(`runs ${where(block)} and checks what it printed`, async () => {
      const checks = RUN_CHECKS.filter((candidate) => candidate.matches.test(block.code));
      expect(checks, 'a check for this block').to.have.length(1);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block.code], {
        cwd: ROOT,
        timeout: 30_000,
      });
      await checks[0]!.check(stdout);
    });
  }
});
