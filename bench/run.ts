/**
 * `npm run bench`: every scenario of shared/performance.md in one run. Each server starts in its
 * own process pinned to core 0; autocannon drives it from this process, pinned to core 1, for a
 * fixed time after a warm-up. Prints one table and the ratios of the targets, and writes both to
 * bench/results/latest.json (quick and partial runs to bench/results/partial.json).
 *
 *   npm run bench                     15 s per scenario after a 5 s warm-up (about 3 minutes)
 *   npm run bench -- --quick          3 s after 1 s (under a minute): a smoke check
 *   npm run bench -- --only floor,cte-sandbox --seconds 30
 *   npm run bench -- --only cte-sandbox --profile   CPU profiles of the servers in bench/results
 *   npm run bench -- --rounds 3       every scenario three times over, medians reported (this VM's
 *                                     speed drifts by tens of percent within minutes: ratios are
 *                                     taken within each round, where the scenarios ran close in
 *                                     time, and their median reported)
 *   BENCH_SERVER_FLAGS=--trace-gc npm run bench -- --only floor   extra Node flags for the servers
 *
 * `cte-sandbox-redis` needs redis-server on PATH: the harness starts one on a free port for the
 * scenario and stops it after; its row counts the Redis commands per request.
 *
 * `cte-refresh` sends refreshes instead of exchanges: each connection redeems a chain of rotating
 * refresh tokens of its own (one exchange per connection before each run starts it), each answer's
 * new refresh token carried by the connection's next request.
 *
 * Exits 1 when any scenario answered a request with an error (a benchmark of failures measures
 * nothing); targets missed are reported, not fatal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { load, loadChains, makeSubjects, paced, pinLoadGenerator, startServer } from './harness.js';
import type { LoadResult } from './harness.js';
import {
  HOSTILE_TOKEN_TYPE,
  requestBody as cteRequestBody,
  refreshRequestBody,
} from './servers/cte.js';
import { startRedis } from '../test/support/redis-server.js';

interface Scenario {
  name: string;
  server: string;
  mode: string;
  /** Offered rate for a latency row; saturation otherwise. */
  rate?: number;
  /** Another profile's action spins forever on this many requests/s meanwhile. */
  hostilePerSecond?: number;
  /** The server keeps its stores on a Redis the harness starts for it. */
  redis?: boolean;
  /**
   * Each connection redeems a chain of rotating refresh tokens (a family of its own, from one
   * exchange before the run) instead of exchanging.
   */
  refresh?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'floor', server: 'floor', mode: 'floor' },
  { name: 'cte-inline', server: 'cte', mode: 'inline' },
  // The like-for-like baseline of the sandbox: in process, the sandbox's synchronous verification.
  { name: 'cte-inline-sync', server: 'cte', mode: 'inline-sync' },
  { name: 'cte-sandbox', server: 'cte', mode: 'sandbox' },
  // Refreshes: cte-sandbox's server, its exchanges answering rotating refresh tokens.
  { name: 'cte-refresh', server: 'cte', mode: 'refresh', refresh: true },
  // What a user gets by default: RS256 access and ID tokens, the ID token requested.
  { name: 'cte-default', server: 'cte', mode: 'default' },
  // cte-sandbox with an OpenTelemetry SDK recording every span and metric.
  { name: 'cte-sandbox-otel', server: 'cte', mode: 'sandbox-otel' },
  { name: 'cte-sandbox-hostile', server: 'cte', mode: 'hostile', hostilePerSecond: 2 },
  { name: 'cte-sandbox-redis', server: 'cte', mode: 'sandbox-redis', redis: true },
  { name: 'peer-exchange', server: 'peer-oidc-provider', mode: 'exchange' },
  { name: 'peer-cc', server: 'peer-oidc-provider', mode: 'cc' },
  { name: 'cte-sandbox@500rps', server: 'cte', mode: 'sandbox', rate: 500 },
  // The in-process exchange at that rate: how much of the sandbox's tail is the exchange's own.
  { name: 'cte-inline-sync@500rps', server: 'cte', mode: 'inline-sync', rate: 500 },
  // The same latency row for the floor: what this machine's Node alone does at that rate.
  { name: 'floor@500rps', server: 'floor', mode: 'floor', rate: 500 },
];
const CONNECTIONS = 50;

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
};
const quick = argv.includes('--quick');
const seconds = Number(option('--seconds')) || (quick ? 3 : 15);
const warmupSeconds = quick ? 1 : Math.max(2, Math.round(seconds / 3));
const only = option('--only')?.split(',');
const rounds = Math.max(1, Math.floor(Number(option('--rounds')) || 1));
const profileDir = argv.includes('--profile')
  ? fileURLToPath(new URL('./results/', import.meta.url))
  : undefined;
const selected = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (selected.length === 0)
  throw new Error(`--only names none of ${SCENARIOS.map((s) => s.name).join(',')}`);

interface Row extends LoadResult {
  name: string;
  /** Server CPU (all its threads) per request over the measured period. */
  cpu_ms: number;
  rss_mb: number;
  offered_rps?: number;
  hostile_responses?: Record<string, number>;
  /** Commands sent to the store server per request, by command, over the measured period. */
  store_commands_per_request?: Record<string, number>;
}

async function measure(scenario: Scenario, pin: boolean): Promise<Row> {
  const { config, tokens } = await makeSubjects(scenario.mode);
  const redis = scenario.redis ? await startRedis() : undefined;
  if (redis) config.redisUrl = redis.url;
  try {
    return await measureOn(scenario, pin, config, tokens);
  } finally {
    await redis?.stop();
  }
}

async function measureOn(
  scenario: Scenario,
  pin: boolean,
  config: Awaited<ReturnType<typeof makeSubjects>>['config'],
  tokens: string[],
): Promise<Row> {
  const server = await startServer(scenario.server, config, pin, profileDir);
  const bodies = tokens.map((token) => server.module.requestBody(token, config));
  const hostile = scenario.hostilePerSecond
    ? trickle(server.url, cteRequestBody(tokens[0]!, config, HOSTILE_TOKEN_TYPE), scenario)
    : undefined;
  try {
    // A run ends with a request in flight on every connection: its answer, and the chain's next
    // refresh token, are lost, so each run starts new chains (before the measured period).
    const chains = (): Promise<string[]> =>
      scenario.refresh
        ? refreshTokens(server.url, bodies.slice(0, CONNECTIONS))
        : Promise.resolve([]);
    const drive = (forSeconds: number, starts: string[]) =>
      scenario.refresh
        ? loadChains(
            server.url,
            starts,
            {
              body: (refreshToken) => refreshRequestBody(refreshToken, config),
              next: (answer) => (JSON.parse(answer) as { refresh_token: string }).refresh_token,
            },
            { connections: CONNECTIONS, seconds: forSeconds },
          )
        : scenario.rate === undefined
          ? load(server.url, bodies, { connections: CONNECTIONS, seconds: forSeconds })
          : paced(server.url, bodies, {
              rate: scenario.rate,
              seconds: forSeconds,
              connections: CONNECTIONS,
            });
    await drive(warmupSeconds, await chains());
    const starts = await chains();
    const before = await server.stats();
    const result = await drive(seconds, starts);
    const after = await server.stats();
    return {
      name: scenario.name,
      ...result,
      cpu_ms: +((after.cpuMicros - before.cpuMicros) / 1000 / result.requests).toFixed(3),
      rss_mb: Math.round(after.rss / 2 ** 20),
      ...(scenario.rate === undefined ? {} : { offered_rps: scenario.rate }),
      ...(hostile ? { hostile_responses: hostile.responses } : {}),
      ...(after.storeCommands
        ? {
            store_commands_per_request: perRequest(
              before.storeCommands,
              after.storeCommands,
              result.requests,
            ),
          }
        : {}),
    };
  } finally {
    hostile?.stop();
    await server.stop();
  }
}

/** The refresh token each exchange of `bodies` answers, one exchange at a time. */
async function refreshTokens(url: string, bodies: string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (const body of bodies) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json()) as { refresh_token?: string };
    if (answer.refresh_token === undefined) {
      throw new Error(
        `an exchange answered no refresh token: ${res.status} ${JSON.stringify(answer)}`,
      );
    }
    tokens.push(answer.refresh_token);
  }
  return tokens;
}

/** How many of each command were sent per request between two samples. */
function perRequest(
  before: Record<string, number> = {},
  after: Record<string, number>,
  requests: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, count]) => [
      name,
      +((count - (before[name] ?? 0)) / requests).toFixed(3),
    ]),
  );
}

/** Sends the hostile request `hostilePerSecond` times a second, counting the statuses. */
function trickle(url: string, body: string, scenario: Scenario) {
  const responses: Record<string, number> = {};
  const count = (status: string): void => {
    responses[status] = (responses[status] ?? 0) + 1;
  };
  const timer = setInterval(() => {
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(30_000),
    }).then(
      async (res) => {
        await res.arrayBuffer();
        count(String(res.status));
      },
      () => count('network error'),
    );
  }, 1000 / scenario.hostilePerSecond!);
  return { responses, stop: () => clearInterval(timer) };
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || b === 0 ? null : +(a / b).toFixed(3);

function ratios(rows: Map<string, Row>) {
  const sandbox = rows.get('cte-sandbox');
  const inline = rows.get('cte-inline');
  const inlineSync = rows.get('cte-inline-sync');
  const peerExchange = rows.get('peer-exchange');
  const floor = rows.get('floor');
  const at500 = rows.get('cte-sandbox@500rps');
  const floorAt500 = rows.get('floor@500rps');
  const inlineSyncAt500 = rows.get('cte-inline-sync@500rps');
  const extraCpu = (row: Row | undefined, base: Row | undefined): number | null =>
    row && base ? +(row.cpu_ms - base.cpu_ms).toFixed(3) : null;
  return {
    cte_sandbox_vs_peer_exchange: ratio(sandbox?.rps, peerExchange?.rps),
    cte_inline_vs_peer_exchange: ratio(inline?.rps, peerExchange?.rps),
    cte_inline_vs_floor: ratio(inline?.rps, floor?.rps),
    sandbox_cpu_ms_over_inline_sync: extraCpu(sandbox, inlineSync),
    cte_sandbox_hostile_vs_cte_sandbox: ratio(rows.get('cte-sandbox-hostile')?.rps, sandbox?.rps),
    cte_sandbox_p99_ms_over_floor_at_500rps:
      at500 && floorAt500 ? +(at500.p99_ms - floorAt500.p99_ms).toFixed(2) : null,
    cte_sandbox_otel_vs_cte_sandbox: ratio(rows.get('cte-sandbox-otel')?.rps, sandbox?.rps),
    cte_sandbox_p99_over_p50: ratio(sandbox?.p99_ms, sandbox?.p50_ms),
    cte_sandbox_redis_vs_cte_sandbox: ratio(rows.get('cte-sandbox-redis')?.rps, sandbox?.rps),
    // References: no target of their own.
    cte_sandbox_vs_peer_cc: ratio(sandbox?.rps, rows.get('peer-cc')?.rps),
    cte_sandbox_vs_floor: ratio(sandbox?.rps, floor?.rps),
    cte_sandbox_vs_cte_inline: ratio(sandbox?.rps, inline?.rps),
    cte_inline_sync_vs_peer_exchange: ratio(inlineSync?.rps, peerExchange?.rps),
    sandbox_cpu_ms_over_inline: extraCpu(sandbox, inline),
    otel_extra_cpu_ms: extraCpu(rows.get('cte-sandbox-otel'), sandbox),
    cte_default_vs_cte_sandbox: ratio(rows.get('cte-default')?.rps, sandbox?.rps),
    cte_default_cpu_ms_over_cte_sandbox: extraCpu(rows.get('cte-default'), sandbox),
    cte_sandbox_p99_ms_at_500rps: at500?.p99_ms ?? null,
    floor_p99_ms_at_500rps: floorAt500?.p99_ms ?? null,
    cte_inline_sync_p99_ms_at_500rps: inlineSyncAt500?.p99_ms ?? null,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const value =
    sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return +value.toFixed(3);
}

/** One row per scenario: the median of each figure over the rounds, counts added up. */
function medianRows(perRound: Array<Map<string, Row>>): Map<string, Row> {
  if (perRound.length === 1) return perRound[0]!;
  const merged = new Map<string, Row>();
  for (const [name, first] of perRound[0]!) {
    const all = perRound.map((round) => round.get(name)!);
    const of = (pick: (row: Row) => number) => median(all.map(pick));
    const failures = addCounts(all.map((row) => row.failures));
    const hostile = addCounts(all.map((row) => row.hostile_responses));
    const { failures: _failures, hostile_responses: _hostile, ...rest } = first;
    merged.set(name, {
      ...rest,
      rps: Math.round(of((row) => row.rps)),
      p50_ms: of((row) => row.p50_ms),
      p99_ms: of((row) => row.p99_ms),
      cpu_ms: of((row) => row.cpu_ms),
      rss_mb: Math.round(of((row) => row.rss_mb)),
      requests: all.reduce((sum, row) => sum + row.requests, 0),
      errors: all.reduce((sum, row) => sum + row.errors, 0),
      ...(Object.keys(failures).length > 0 ? { failures } : {}),
      ...(first.hostile_responses ? { hostile_responses: hostile } : {}),
    });
  }
  return merged;
}

/** Counts by key, added up over the rounds. */
function addCounts(perRound: Array<Record<string, number> | undefined>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const counts of perRound) {
    for (const [key, count] of Object.entries(counts ?? {})) total[key] = (total[key] ?? 0) + count;
  }
  return total;
}

/** Each ratio's median over the rounds (each round's ratios compare runs minutes apart at most). */
function medianRatios(perRound: Array<ReturnType<typeof ratios>>): ReturnType<typeof ratios> {
  const merged = { ...perRound[0]! };
  for (const name of Object.keys(merged) as Array<keyof typeof merged>) {
    const values = perRound.map((round) => round[name]).filter((v): v is number => v !== null);
    merged[name] = values.length === 0 ? null : median(values);
  }
  return merged;
}

/** The targets of shared/performance.md; the other ratios are printed for reference. */
const TARGETS: Record<string, { text: string; met: (value: number) => boolean }> = {
  cte_sandbox_vs_peer_exchange: { text: '≥ 0.85 (then ≥ 1)', met: (v) => v >= 0.85 },
  cte_inline_vs_peer_exchange: { text: '≥ 1.2', met: (v) => v >= 1.2 },
  cte_inline_vs_floor: { text: '≥ 0.9', met: (v) => v >= 0.9 },
  sandbox_cpu_ms_over_inline_sync: { text: '≤ 0.08', met: (v) => v <= 0.08 },
  cte_sandbox_hostile_vs_cte_sandbox: { text: '≥ 0.9', met: (v) => v >= 0.9 },
  cte_sandbox_p99_ms_over_floor_at_500rps: { text: '≤ 5', met: (v) => v <= 5 },
  cte_sandbox_p99_over_p50: { text: '≤ 3', met: (v) => v <= 3 },
  cte_sandbox_redis_vs_cte_sandbox: { text: '≥ 0.85', met: (v) => v >= 0.85 },
  cte_sandbox_otel_vs_cte_sandbox: { text: '≥ 0.95', met: (v) => v >= 0.95 },
};

const pin = pinLoadGenerator();
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${process.platform} ${process.arch}, Node ${process.version}`;
console.log(
  `${machine}; servers ${pin ? 'pinned to core 0, load generator to core 1' : 'not pinned (taskset or a second core missing)'}; ` +
    `${CONNECTIONS} connections, ${seconds} s after a ${warmupSeconds} s warm-up per scenario`,
);
const roundRows: Array<Map<string, Row>> = [];
for (let round = 1; round <= rounds; round++) {
  const rows = new Map<string, Row>();
  for (const scenario of selected) {
    const row = await measure(scenario, pin);
    rows.set(row.name, row);
    console.log(
      `${rounds > 1 ? `round ${round}: ` : ''}${row.name}: ${row.rps} requests/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms`,
    );
  }
  roundRows.push(rows);
}
const rows = medianRows(roundRows);
console.table(
  [...rows.values()].map(({ name, rps, p50_ms, p99_ms, errors, cpu_ms, rss_mb, offered_rps }) => ({
    name,
    'requests/s': rps,
    'p50 ms': p50_ms,
    'p99 ms': p99_ms,
    errors,
    'CPU ms/request': cpu_ms,
    'RSS MB': rss_mb,
    ...(offered_rps ? { note: `${offered_rps}/s evenly paced, timed from when due` } : {}),
  })),
);
for (const row of rows.values()) {
  if (row.store_commands_per_request) {
    console.log(`${row.name}: Redis commands per request:`, row.store_commands_per_request);
  }
}
const hostileRow = rows.get('cte-sandbox-hostile');
if (hostileRow?.hostile_responses) {
  console.log('hostile requests answered:', hostileRow.hostile_responses);
}
const computed = medianRatios(roundRows.map(ratios));
console.table(
  Object.entries(computed)
    .filter(([, value]) => value !== null)
    .map(([name, value]) => ({
      ratio: name,
      value,
      target: TARGETS[name]?.text ?? '(reference)',
      met: TARGETS[name] === undefined ? '' : TARGETS[name].met(value!) ? 'yes' : 'NO',
    })),
);
const report = {
  machine,
  pinned: pin,
  connections: CONNECTIONS,
  seconds,
  warmup_seconds: warmupSeconds,
  rounds,
  scenarios: [...rows.values()],
  ratios: computed,
  ...(rounds > 1 ? { each_round: roundRows.map((round) => [...round.values()]) } : {}),
};
const results = new URL('./results/', import.meta.url);
mkdirSync(results, { recursive: true });
const file = quick || only ? 'partial.json' : 'latest.json';
writeFileSync(
  new URL(`./results/${file}`, import.meta.url),
  `${JSON.stringify(report, null, 2)}\n`,
);
console.log(`written to bench/results/${file}`);
const failed = [...rows.values()].filter((row) => row.errors > 0);
if (failed.length > 0) {
  for (const row of failed) console.error(`${row.name}: ${row.errors} errors`, row.failures);
  process.exitCode = 1;
}
