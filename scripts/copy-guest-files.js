// Part of `npm run build`: copies the sandbox's guest scripts (lib/sandbox/guest/*.js, which run
// inside isolated-vm and are read as source when the sandbox starts) next to the compiled sandbox.
// Usage: node scripts/copy-guest-files.js [outDir], outDir defaulting to dist.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'lib', 'sandbox', 'guest');
const target = join(process.argv[2] ?? join(root, 'dist'), 'sandbox', 'guest');
for (const name of readdirSync(source)) {
  if (name.endsWith('.js')) cpSync(join(source, name), join(target, name));
}
