// Part of `npm run build`: empties dist/ first, so that files of an earlier build (compiled from a
// source since removed, or source maps of a build that made them) are never packed.
// Usage: node scripts/clean-dist.js [outDir], outDir defaulting to dist.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(process.argv[2] ?? join(root, 'dist'), { recursive: true, force: true });
