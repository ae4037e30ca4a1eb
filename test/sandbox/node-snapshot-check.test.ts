import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertNodeSnapshotDisabled } from '../../lib/sandbox/node-snapshot-check.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `source` (ESM, TypeScript via tsx) in a fresh node started with `flags`. */
function runNode(
  source: string,
  flags: string[],
  env: NodeJS.ProcessEnv = {},
): ReturnType<typeof spawnSync> {
  const environment = { ...process.env };
  delete environment.NODE_OPTIONS;
  Object.assign(environment, env);
  return spawnSync(
    process.execPath,
    [...flags, '--import', 'tsx', '--input-type=module', '-e', source],
    {
      cwd: root,
      env: environment,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
}

describe('isolated-vm is loaded only for code actions, and needs --no-node-snapshot then', function () {
  this.timeout(60_000);

  it('serves a router of in-process handlers without the flag and without loading isolated-vm; the first code action says how to fix it', () => {
    const result = runNode(
      `
      import { createRequire } from 'node:module';
      import request from 'supertest';
      import { testServer, basic, exchangeBody, SECRET } from './test/support/fixtures.ts';
      const { app, cte } = await testServer({ sandbox: true });
      const answer = await request(app)
        .post('/oauth/token')
        .set('Authorization', basic('app', SECRET))
        .type('form')
        .send(exchangeBody());
      const loaded = () =>
        Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('isolated-vm'));
      const report = { status: answer.status, tokenType: answer.body.token_type, loadedAfterExchange: loaded() };
      try {
        await cte.actions.create({ name: 'coded', code: 'exports.onExecuteCustomTokenExchange = async () => {};' });
        report.created = true;
      } catch (err) {
        report.refusal = err.message;
      }
      report.loadedAfterRefusal = loaded();
      await cte.close();
      console.log(JSON.stringify(report));
      `,
      [],
    );
    expect(result.status, String(result.stderr)).to.equal(0);
    const report = JSON.parse(String(result.stdout).trim().split('\n').at(-1) ?? '{}') as Record<
      string,
      unknown
    >;
    expect(report.status).to.equal(200);
    expect(report.tokenType).to.equal('Bearer');
    expect(report.loadedAfterExchange).to.equal(false);
    expect(report.created).to.equal(undefined);
    expect(report.loadedAfterRefusal).to.equal(false);
    const refusal = String(report.refusal);
    expect(refusal).to.include('needs Node to run with --no-node-snapshot');
    expect(refusal).to.include('node --no-node-snapshot server.js');
    expect(refusal).to.include('NODE_OPTIONS=--no-node-snapshot');
    expect(refusal).to.include('"node-option": ["no-node-snapshot"]');
  });

  it('accepts the flag given on the command line or in NODE_OPTIONS', () => {
    const source = `
      import { assertNodeSnapshotDisabled } from './lib/sandbox/node-snapshot-check.ts';
      assertNodeSnapshotDisabled();
      console.log('accepted');
    `;
    expect(String(runNode(source, ['--no-node-snapshot']).stdout).trim()).to.equal('accepted');
    expect(
      String(runNode(source, [], { NODE_OPTIONS: '--no-node-snapshot' }).stdout).trim(),
    ).to.equal('accepted');
  });

  it('reads the arguments it is given', () => {
    expect(() => assertNodeSnapshotDisabled(['--no-node-snapshot'], undefined)).not.to.throw();
    expect(() =>
      assertNodeSnapshotDisabled([], '--max-old-space-size=512 --no-node-snapshot'),
    ).not.to.throw();
    expect(() => assertNodeSnapshotDisabled(['--inspect'], '--no-warnings')).to.throw(
      /needs Node to run with --no-node-snapshot/,
    );
  });
});
