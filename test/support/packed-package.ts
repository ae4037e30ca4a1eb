import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One file of `npm pack --json`'s answer. */
export interface PackedFile {
  path: string;
  size: number;
}

/** `npm pack --dry-run --json`'s answer for this package. */
export interface PackResult {
  name: string;
  version: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

let packing: Promise<PackResult> | undefined;

/**
 * What `npm pack` would put in the tarball, as npm itself lists it. Its `prepack` script builds
 * `dist/` in the repository first, so the list (and `dist/`, for the tests that read the build)
 * is the one a release would ship. Packed once per test process.
 */
export function packedPackage(): Promise<PackResult> {
  packing ??= run('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], {
    cwd: ROOT,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(({ stdout }) => {
    // npm prints the prepack script's own output before the JSON.
    const json = stdout.slice(stdout.indexOf('[\n'));
    return (JSON.parse(json) as PackResult[])[0]!;
  });
  return packing;
}
