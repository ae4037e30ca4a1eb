import { expect } from 'chai';
import { capture, startExample } from '../support/example-process.js';
import type { ExampleProcess } from '../support/example-process.js';
import { STARTUP_TIMEOUT_MS } from '../support/example-http.js';

const SCOPE_LABEL = 'otel_scope_name="express-custom-token-exchange"';

interface SpanSummary {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  status: string;
  attributes: Record<string, unknown>;
}

/** The value of the one Prometheus sample whose line starts with `series` (labels included). */
function sample(text: string, series: string): number {
  const lines = text.split('\n').filter((line) => line.startsWith(`${series} `));
  if (lines.length !== 1) throw new Error(`expected one sample ${series}, got:\n${text}`);
  return Number(lines[0]!.slice(series.length + 1));
}

describe('examples/observability end to end (spawned with --no-node-snapshot)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  let example: ExampleProcess | undefined;
  let origin: string;
  let client: string;

  before(async () => {
    example = await startExample('examples/observability/server.ts', {
      ready: /^Metrics: curl -s \S+\/metrics .*Spans: \S+$/m,
    });
    origin = `http://127.0.0.1:${example.port}`;
    client = capture(example.output.stdout, /^\s+-u (\S+) \\$/m, 'the client credentials');
  });
  after(async () => {
    await example?.stop();
  });

  function exchange(subjectToken: string): Promise<Response> {
    return fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(client).toString('base64')}` },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:acme:demo-token',
        subject_token: subjectToken,
      }),
    });
  }

  it('serves the router metrics to a Prometheus scrape after exchanges, and the spans of each', async () => {
    const ok = await exchange('demo:user-1');
    expect(ok.status).to.equal(200);
    const accessToken = ((await ok.json()) as { access_token: string }).access_token;
    expect((await exchange('demo:user-1')).status).to.equal(200);
    const rejected = await exchange('forged');
    expect(rejected.status).to.equal(400);
    expect(await rejected.json()).to.deep.equal({
      error: 'invalid_request',
      error_description: 'not a demo token',
    });

    const scrape = await fetch(`${origin}/metrics`);
    expect(scrape.status).to.equal(200);
    expect(scrape.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await scrape.text();
    const exchanges = (result: string) =>
      `cte_exchanges_total{cte_profile="Demo tokens",cte_result="${result}",cte_client_id="orders-app",${SCOPE_LABEL}}`;
    expect(sample(text, exchanges('success'))).to.equal(2);
    expect(sample(text, exchanges('invalid_request'))).to.equal(1);
    expect(text).to.include('# TYPE cte_exchanges_total counter');
    expect(text).to.match(/^# TYPE cte_request_duration\S* histogram$/m);
    expect(sample(text, `cte_sandbox_isolates{cte_tenant="127.0.0.1",${SCOPE_LABEL}}`)).to.equal(1);
    expect(sample(text, `cte_action_executions{cte_tenant="127.0.0.1",${SCOPE_LABEL}}`)).to.equal(
      0,
    );
    expect(text).not.to.include(accessToken);

    const spans = (await (await fetch(`${origin}/debug/spans`)).json()) as SpanSummary[];
    const requests = spans.filter((span) => span.name === 'cte.token');
    expect(requests.map((span) => [span.attributes['cte.result'], span.status])).to.deep.equal([
      ['success', 'unset'],
      ['success', 'unset'],
      ['invalid_request', 'error'],
    ]);
    expect(requests[0]!.attributes['enduser.id']).to.equal('user-1');
    const children = spans
      .filter((span) => span.parentSpanId === requests[2]!.spanId)
      .map((span) => span.name)
      .sort();
    expect(children).to.deep.equal([
      'cte.action',
      'cte.client_authentication',
      'cte.store.attempts.take',
      'cte.throttle',
    ]);
  });

  it('answers the readiness route 200 with every store up and the sandbox ready', async () => {
    const res = await fetch(`${origin}/ready`);
    expect(res.status).to.equal(200);
    const health = (await res.json()) as {
      status: string;
      stores: Record<string, { status: string }>;
      sandbox: { state: string };
      keys: { keys: Array<{ kid: string; status: string }> };
    };
    expect(health.status).to.equal('pass');
    expect(
      Object.fromEntries(
        Object.entries(health.stores).map(([name, store]) => [name, store.status]),
      ),
    ).to.deep.equal({
      replay: 'up',
      revokedTokens: 'up',
      refreshTokens: 'up',
      actionCache: 'up',
      attempts: 'up',
      users: 'up',
      keys: 'up',
    });
    expect(health.sandbox.state).to.equal('ready');
    expect(health.keys.keys.map((key) => [key.kid, key.status])).to.deep.equal([
      ['router-es256-1', 'current'],
    ]);
  });
});
