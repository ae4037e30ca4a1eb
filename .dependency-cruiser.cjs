// What may import what in lib/: `npm test` runs `npm run depcruise`, which fails on any breach.
//
// LAYERS lists lib/'s parts from the top (what a host imports) to the bottom (what everything
// may use). A part may import itself and any part below it, never one above: so no folder imports
// a folder that imports it back, and the request's way down stays
// http → grants → exchange → actions → sandbox, with stores, tokens and users below.
// Every file of lib/ must belong to a layer, so a new folder has to be placed here first.

/** [name, path pattern] from the top down. */
const LAYERS = [
  // Entry points: the package's subpaths.
  ['index', '^lib/index\\.ts$'],
  ['postgres', '^lib/stores/postgres/'],
  ['redis', '^lib/stores/redis/'],
  // The router and its construction.
  ['custom-token-exchange', '^lib/custom-token-exchange(-router)?\\.ts$'],
  ['parse-options', '^lib/parse-(store-)?options\\.ts$'],
  // The Management API over HTTP, which drives the programmatic handles over the registries, and
  // testAction (also the /testing subpath), which its action test route runs.
  ['management', '^lib/management/'],
  ['handles', '^lib/handles/'],
  ['testing', '^lib/testing/'],
  // The request's way down.
  ['http', '^lib/http/'],
  ['grants', '^lib/grants/'],
  // The parsed configuration the endpoints and grants read.
  ['options', '^lib/options\\.ts$'],
  // Role-based access: the grants ask it which of the requested scopes a user may have.
  ['permissions', '^lib/permissions/'],
  ['attack-protection', '^lib/attack-protection/'],
  ['client-auth', '^lib/client-auth/'],
  ['exchange', '^lib/exchange/'],
  ['profiles', '^lib/profiles/'],
  ['actions', '^lib/actions/'],
  // The sandbox: the gate composes the runners; the isolated-vm runner implements the contract
  // (action-runner.ts, runaway-policy.ts, ...) that the rest of sandbox/ defines.
  ['sandbox-gate', '^lib/sandbox/execution-gate\\.ts$'],
  ['sandbox-isolated-vm', '^lib/sandbox/isolated-vm/'],
  ['sandbox', '^lib/sandbox/(?!execution-gate\\.ts$)[^/]+$'],
  ['sandbox-capabilities', '^lib/sandbox/capabilities/'],
  ['sandbox-guest', '^lib/sandbox/guest/'],
  // Spans and metrics: recorded from the endpoints, grants and sandbox, reading state below.
  ['observability', '^lib/observability/'],
  // State, tokens and configuration below the request's way.
  ['refresh-tokens', '^lib/refresh-tokens/'],
  ['logs', '^lib/logs/'],
  ['tokens', '^lib/tokens/'],
  ['registry', '^lib/registry/'],
  ['organizations', '^lib/organizations/'],
  ['users', '^lib/users/'],
  // Multi-factor: the mfa options and the sealed mfa_token the MFA grants redeem.
  ['mfa', '^lib/mfa/'],
  ['errors', '^lib/errors\\.ts$'],
  ['stores', '^lib/stores/[^/]+$'],
  // Shared helpers of no domain.
  ['standards-options', '^lib/standards-options\\.ts$'],
  ['definition-checks', '^lib/definition-checks\\.ts$'],
  ['rate-limited-warning', '^lib/rate-limited-warning\\.ts$'],
  ['logger', '^lib/logger\\.ts$'],
  ['plain-data-size', '^lib/plain-data-size\\.ts$'],
  ['plain-copy', '^lib/plain-copy\\.ts$'],
  ['secure-random', '^lib/secure-random\\.ts$'],
];

const upward = LAYERS.slice(1).map(([name, path], index) => ({
  name: `${name}-imports-upward`,
  comment: `${name} sits below ${LAYERS.slice(0, index + 1)
    .map(([above]) => above)
    .join(', ')}: it may import only itself and what lies below it`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(0, index + 1).map(([, above]) => above) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-file-cycles',
      comment: 'Files import each other in one direction only.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'lib-file-outside-the-layers',
      comment: 'Every file of lib/ is placed in LAYERS (.dependency-cruiser.cjs).',
      severity: 'error',
      from: { path: '^lib/', pathNot: LAYERS.map(([, path]) => path) },
      to: {},
    },
    {
      name: 'one-file-imports-isolated-vm',
      comment:
        'Only isolates.ts loads isolated-vm (the rest uses its factories), so the rest runs without it.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/sandbox/isolated-vm/isolates\\.ts$' },
      to: { path: '^node_modules/isolated-vm/' },
    },
    {
      name: 'lib-imports-no-tests',
      comment: 'The package ships lib/ alone.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(test|examples|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
