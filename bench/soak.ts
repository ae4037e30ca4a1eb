/**
 * `npm run bench:soak`: five minutes of `cte-sandbox` at saturation (after a warm-up), reporting the
 * server's RSS and heap (after a full collection) at the start, after each minute and at the end.
 * Memory should stay flat (within 10 %): anything a request leaves behind shows up here.
 *
 *   npm run bench:soak [-- --minutes 5]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { load, makeSubjects, pinLoadGenerator, startServer } from './harness.js';

const at = process.argv.indexOf('--minutes');
const minutes = (at === -1 ? undefined : Number(process.argv[at + 1])) || 5;
const CONNECTIONS = 50;

const pin = pinLoadGenerator();
const { config, tokens } = await makeSubjects('sandbox');
// --expose-gc: each memory sample follows a full collection, so heap figures compare.
const server = await startServer('cte', config, pin, undefined, ['--expose-gc']);
const bodies = tokens.map((token) => server.module.requestBody(token, config));
const mb = (bytes: number): number => +(bytes / 2 ** 20).toFixed(1);

interface Sample {
  minute: number;
  rss_mb: number;
  heap_used_mb: number;
  rps: number | null;
  p99_ms: number | null;
  errors: number;
  /** What the errors were: responses by status code, network errors and timeouts. */
  failures?: Record<string, number>;
}
const samples: Sample[] = [];
try {
  await load(server.url, bodies, { connections: CONNECTIONS, seconds: 10 });
  const start = await server.statsAfterGc();
  samples.push({
    minute: 0,
    rss_mb: mb(start.rss),
    heap_used_mb: mb(start.heapUsed),
    rps: null,
    p99_ms: null,
    errors: 0,
  });
  console.log(`after warm-up: RSS ${mb(start.rss)} MB, heap ${mb(start.heapUsed)} MB`);
  for (let minute = 1; minute <= minutes; minute += 1) {
    const result = await load(server.url, bodies, { connections: CONNECTIONS, seconds: 60 });
    const stats = await server.statsAfterGc();
    const sample = {
      minute,
      rss_mb: mb(stats.rss),
      heap_used_mb: mb(stats.heapUsed),
      rps: result.rps,
      p99_ms: result.p99_ms,
      errors: result.errors,
      ...(result.failures ? { failures: result.failures } : {}),
    };
    samples.push(sample);
    console.log(
      `minute ${minute}: RSS ${sample.rss_mb} MB, heap ${sample.heap_used_mb} MB, ${result.rps} requests/s, p99 ${result.p99_ms} ms, ${result.errors} errors${result.failures ? ` ${JSON.stringify(result.failures)}` : ''}`,
    );
  }
} finally {
  await server.stop();
}
console.table(samples);
const first = samples[0]!;
const last = samples.at(-1)!;
const growth = {
  rss_percent: +((last.rss_mb / first.rss_mb - 1) * 100).toFixed(1),
  heap_used_percent: +((last.heap_used_mb / first.heap_used_mb - 1) * 100).toFixed(1),
};
console.log(
  `growth from start to end: RSS ${growth.rss_percent} %, heap ${growth.heap_used_percent} % (target within ±10 %)`,
);
const results = new URL('./results/', import.meta.url);
mkdirSync(results, { recursive: true });
writeFileSync(
  new URL('soak.json', results),
  `${JSON.stringify({ minutes, connections: CONNECTIONS, pinned: pin, samples, growth }, null, 2)}\n`,
);
if (samples.some((sample) => sample.errors > 0)) process.exitCode = 1;
