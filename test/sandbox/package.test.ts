import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

describe('the sandbox as shipped', function () {
  it('has exactly one module of lib/ that imports isolated-vm', () => {
    const importers = files(join(ROOT, 'lib'), '.ts')
      .filter((file) =>
        /from\s+'isolated-vm'|import\(\s*'isolated-vm'\s*\)/.test(readFileSync(file, 'utf8')),
      )
      .map((file) => relative(ROOT, file));
    expect(importers).to.deep.equal([join('lib', 'sandbox', 'isolated-vm', 'isolates.ts')]);
  });

  it('ships the guest scripts with the build and runs a sandboxed action from it', async function () {
    this.timeout(120_000);
    const outDir = await mkdtemp(join(tmpdir(), 'cte-sandbox-build-'));
    try {
      // What `npm run build` runs, into a directory of its own.
      await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], {
        cwd: ROOT,
        timeout: 110_000,
      });
      await run(process.execPath, ['scripts/copy-guest-files.js', outDir], { cwd: ROOT });
      const guest = files(join(ROOT, 'lib', 'sandbox', 'guest'), '.js').map((file) =>
        relative(join(ROOT, 'lib'), file),
      );
      expect(files(join(outDir, 'sandbox', 'guest'), '.js').map((file) => relative(outDir, file)))
        .to.have.members(guest)
        .and.have.length.above(5);
      await symlink(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
      await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
      const script = `
        const { testAction } = await import('./testing/index.js');
        const result = await testAction(
          "const { decodeJwt } = require('jose');" +
          "exports.onExecuteCustomTokenExchange = async (event, api) => {" +
          "  api.authentication.setUserById(decodeJwt(event.transaction.subject_token).sub);" +
          "};",
          { transaction: { subject_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJidWlsdCJ9.' } },
        );
        console.log(JSON.stringify(result));`;
      const { stdout } = await run(
        process.execPath,
        ['--no-node-snapshot', '--input-type=module', '-e', script],
        { cwd: outDir, timeout: 30_000 },
      );
      expect(JSON.parse(stdout)).to.deep.equal({
        commands: [{ type: 'setUserById', user_id: 'built' }],
        console: [],
        cache: {},
      });
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
