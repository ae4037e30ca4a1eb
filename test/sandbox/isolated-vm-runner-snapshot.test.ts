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

describe('assertNodeSnapshotDisabled', function () {
  this.timeout(60_000);

  it('refuses to build the sandbox in a process started without --no-node-snapshot, saying how to fix it', () => {
    const result = runNode(
      `
      import { IsolatedVmRunner } from './lib/sandbox/isolated-vm-runner.ts';
      try {
        new IsolatedVmRunner({ capabilities: { invoke: async () => null }, cacheStore: { load: async () => ({}), apply: async () => {} } });
        console.log('constructed');
      } catch (err) {
        console.log(err.message);
      }
      `,
      [],
    );
    expect(result.status).to.equal(0);
    const output = String(result.stdout);
    expect(output).not.to.include('constructed');
    expect(output).to.include('needs Node to run with --no-node-snapshot');
    expect(output).to.include('node --no-node-snapshot server.js');
    expect(output).to.include('NODE_OPTIONS=--no-node-snapshot');
    expect(output).to.include('"node-option": ["no-node-snapshot"]');
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
