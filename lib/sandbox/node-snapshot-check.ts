const FLAG = '--no-node-snapshot';

/**
 * Throws when this process was started without `--no-node-snapshot`. isolated-vm on Node 20 and
 * later needs it: with Node's startup snapshot, V8's shared read-only heap can crash the process
 * once isolates built from different snapshots coexist (isolated-vm README, "Requirements"). The
 * crash would come later and take the server down, so the sandbox refuses to load instead (it
 * loads with the first code action).
 *
 * @param execArgv the Node options of this process; default `process.execArgv`
 * @param nodeOptions the `NODE_OPTIONS` environment variable; default `process.env.NODE_OPTIONS`
 * @throws Error explaining the three ways to pass the flag
 */
export function assertNodeSnapshotDisabled(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): void {
  if (execArgv.includes(FLAG)) return;
  if (nodeOptions !== undefined && nodeOptions.split(/\s+/).includes(FLAG)) return;
  throw new Error(
    'The action sandbox (isolated-vm) needs Node to run with --no-node-snapshot on Node 20 and ' +
      'later, and this process was started without it. Start node with the flag ' +
      '(`node --no-node-snapshot server.js`), or set it in the environment ' +
      '(`NODE_OPTIONS=--no-node-snapshot`), or for mocha add `"node-option": ["no-node-snapshot"]` ' +
      'to .mocharc.json. Actions given as in-process handlers need no sandbox and no flag.',
  );
}
