import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Scenario {
  name: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms: number;
  rss_mb: number;
}

describe('docs/performance.md', () => {
  it('shows the figures of bench/results/latest.json, every scenario and its machine', () => {
    const latest = JSON.parse(
      readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'),
    ) as { machine: string; rounds: number; scenarios: Scenario[] };
    const page = readFileSync(join(ROOT, 'docs', 'performance.md'), 'utf8');
    const rows = [...page.matchAll(/^\| `([^`]+)`\s*\|(.*)\|$/gm)].map((match) => [
      match[1],
      ...match[2]!.split('|').map((cell) => Number(cell.trim())),
    ]);
    expect(rows).to.deep.equal(
      latest.scenarios.map((s) => [s.name, s.rps, s.p50_ms, s.p99_ms, s.cpu_ms, s.rss_mb]),
    );
    expect(page.replace(/\s+/g, ' ')).to.include(`Machine: ${latest.machine},`);
    expect(page.replace(/\s+/g, ' ')).to.include(`the median of ${latest.rounds} rounds`);
  });
});
