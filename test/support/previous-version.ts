/**
 * The library as an earlier commit had it, importable next to the current one: `lib/` and
 * `package.json` of that commit are taken out of git into a temporary directory, whose
 * `node_modules` is this checkout's. Used to run a previous version's code against what the
 * current version does (its database schema, say).
 */
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onExitCleanup, removeDirectory, run, temporaryDirectory } from './server-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface PreviousVersion {
  /** Imports `file` (a path under the old checkout, such as `lib/index.ts`). */
  load<Module>(file: string): Promise<Module>;
  /** Removes the directory. */
  remove(): void;
}

/** `lib/` of `commit`, extracted; fails with git's own message when the commit is not there. */
export async function previousVersion(commit: string): Promise<PreviousVersion> {
  const dir = await temporaryDirectory('cte-previous-');
  const remove = onExitCleanup(() => removeDirectory(dir));
  const archive = join(dir, 'lib.tar');
  await run('git', ['-C', ROOT, 'archive', '--format=tar', '-o', archive, commit, 'lib']);
  await run('tar', ['-xf', archive, '-C', dir]);
  const { stdout } = await run('git', ['-C', ROOT, 'show', `${commit}:package.json`], {
    maxBuffer: 1024 * 1024,
  });
  await writeFile(join(dir, 'package.json'), stdout);
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    load: async <Module>(file: string) =>
      (await import(pathToFileURL(join(dir, file)).href)) as Module,
    remove,
  };
}
