import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { expect } from 'chai';
import { packedPackage, ROOT, type PackResult } from '../support/packed-package.js';

interface PackageJson {
  license: string;
  repository: { type: string; url: string };
  homepage: string;
  bugs: { url: string };
  keywords: string[];
  exports: Record<string, string | Record<string, string>>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every file under `dir`, as a path relative to the repository, with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

/** Relative link targets of a Markdown file (`[text](target#fragment)`), code left out. */
function relativeLinks(markdown: string): Array<{ path: string; fragment: string | undefined }> {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
    .map((target) => {
      const [path, fragment] = target.split('#') as [string, string | undefined];
      return { path, fragment };
    });
}

function withoutCode(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

/** The anchors GitHub and npm give a Markdown file's headings. */
function anchorsOf(markdown: string): string[] {
  const fences = markdown.replace(/```[\s\S]*?```/g, '');
  return [...fences.matchAll(/^#+ (.+)$/gm)].map((match) =>
    match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-'),
  );
}

describe('the npm tarball (npm pack --dry-run)', function () {
  this.timeout(180_000);
  let packed: PackResult;
  let paths: string[];

  before(async () => {
    packed = await packedPackage();
    paths = packed.files.map((file) => file.path);
  });

  it('ships the build, the docs, the README, LICENSE, CHANGELOG and package.json', () => {
    expect(paths).to.include.members([
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/index.js',
      'dist/index.d.ts',
    ]);
    const docs = filesUnder('docs').filter((path) => path.endsWith('.md'));
    expect(docs, 'docs/ pages').not.to.deep.equal([]);
    expect(paths).to.include.members(docs);
  });

  it('ships every file that package.json exports, for types and for code', () => {
    const targets = Object.values(pkg.exports).flatMap((entry) =>
      typeof entry === 'string' ? [entry] : Object.values(entry),
    );
    expect(targets.length).to.be.greaterThan(8);
    expect(paths).to.include.members(targets.map((target) => posix.normalize(target)));
  });

  it('compiles every lib/ module to a .js and a .d.ts, and ships no file of an older build', () => {
    const sources = filesUnder('lib').filter(
      (path) => path.endsWith('.ts') && !path.startsWith('lib/sandbox/guest/'),
    );
    const built = sources.flatMap((path) => {
      const stem = path.replace(/^lib\//, 'dist/').replace(/\.ts$/, '');
      return [`${stem}.js`, `${stem}.d.ts`];
    });
    // The sandbox's guest scripts are shipped as they are: the sandbox reads them as source.
    const guest = filesUnder('lib/sandbox/guest')
      .filter((path) => path.endsWith('.js'))
      .map((path) => path.replace(/^lib\//, 'dist/'));
    expect(guest.length).to.be.greaterThan(3);
    const shippedBuild = paths.filter((path) => path.startsWith('dist/'));
    expect(shippedBuild.sort()).to.deep.equal([...built, ...guest].sort());
  });

  it('ships no tests, benchmarks, examples, sources, scripts, source maps or local config', () => {
    const unwanted = paths.filter(
      (path) =>
        /^(test|bench|examples|lib|scripts|node_modules|coverage)\//.test(path) ||
        path.endsWith('.map') ||
        path.endsWith('.tsbuildinfo') ||
        /(^|\/)(tsconfig[^/]*\.json|eslint\.config\.js|\.mocharc\.json|\.npmrc|\.env)$/.test(path),
    );
    expect(unwanted).to.deep.equal([]);
  });

  it('links from its Markdown only to files it ships, their headings, or absolute URLs', () => {
    const markdown = paths.filter((path) => path.endsWith('.md'));
    const broken = markdown.flatMap((file) =>
      relativeLinks(readFileSync(join(ROOT, file), 'utf8')).flatMap(({ path, fragment }) => {
        const target = path ? posix.normalize(posix.join(posix.dirname(file), path)) : file;
        const shipped = paths.includes(target) || paths.some((p) => p.startsWith(`${target}/`));
        if (!shipped) return [`${file} → ${target}`];
        if (fragment === undefined || !target.endsWith('.md')) return [];
        const anchors = anchorsOf(readFileSync(join(ROOT, target), 'utf8'));
        return anchors.includes(fragment) ? [] : [`${file} → ${target}#${fragment}`];
      }),
    );
    // The check must see links, or it proves nothing.
    expect(markdown).to.include.members(['README.md', 'docs/options.md']);
    expect(broken).to.deep.equal([]);
  });

  it('stays small: under 1 MB packed', () => {
    expect(packed.size).to.be.below(1_000_000);
  });
});

describe('package.json metadata', () => {
  it('names its MIT license, with the LICENSE file shipped beside it', () => {
    expect(pkg.license).to.equal('MIT');
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).to.match(
      /^MIT License\n\nCopyright \(c\) \d{4} express-custom-token-exchange contributors\n/,
    );
  });

  it('points npm at its repository, home page and issue tracker', () => {
    expect(pkg.repository.type).to.equal('git');
    const repository = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    expect(repository).to.match(/^https:\/\/github\.com\/[^/]+\/[^/]+$/);
    expect(pkg.homepage).to.equal(`${repository}#readme`);
    expect(pkg.bugs.url).to.equal(`${repository}/issues`);
    expect(pkg.keywords).to.include.members(['express', 'oauth2', 'rfc8693', 'token-exchange']);
  });

  it('takes @types/express as an optional peer beside express, for both majors', () => {
    expect(pkg.peerDependencies).to.include({
      express: '^4.21.0 || ^5.0.0',
      '@types/express': '^4.17.21 || ^5.0.0',
    });
    expect(pkg.peerDependenciesMeta['@types/express']).to.deep.equal({ optional: true });
  });
});
