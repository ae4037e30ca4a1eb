import { expect } from 'chai';
import type { ActionDefinition } from '../../lib/profiles/action-definition.js';
import { ActionRegistry } from '../../lib/profiles/action-registry.js';
import {
  ActionFailure,
  type ActionLimits,
  type ActionRunner,
  type ActionVersion,
} from '../../lib/sandbox/action-runner.js';
import { parseHostPattern } from '../../lib/sandbox/capabilities/host-allow-list.js';
import { parseCidr } from '../../lib/sandbox/capabilities/ip-policy.js';
import { rejectionOf as rejection, expectManagementError } from '../support/rejections.js';

const DEFAULT_LIMITS: ActionLimits = {
  timeoutMs: 20_000,
  cpuTimeMs: 100,
  memoryMb: 64,
  maxConcurrency: 32,
};
const CODE = 'exports.onExecuteCustomTokenExchange = async (event, api) => {};';
const SYNTAX_ERROR = 'SyntaxError: Unexpected token ) [<isolated-vm>:1:9]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const handler = (): void => undefined;

/** A runner that records what the registry asks of it; code containing SYNTAX does not compile. */
class FakeRunner implements ActionRunner {
  readonly validated: string[] = [];
  readonly released: ActionVersion[] = [];
  async run(): Promise<void> {}
  async validate(code: string): Promise<void> {
    this.validated.push(code);
    if (code.includes('SYNTAX')) throw new ActionFailure('invalid', SYNTAX_ERROR);
  }
  release(version: ActionVersion): void {
    this.released.push(version);
  }
  async close(): Promise<void> {}
}

/** A clock that only moves when told to. */
function manualClock(start = '2025-06-01T00:00:00.000Z'): { now: () => Date; tick: () => void } {
  let time = Date.parse(start);
  return { now: () => new Date(time), tick: () => (time += 1000) };
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

const body = (problem: string): string => `Invalid request body: ${problem}.`;

function setup(runner: ActionRunner = new FakeRunner()): {
  actions: ActionRegistry;
  runner: FakeRunner;
  clock: ReturnType<typeof manualClock>;
} {
  const clock = manualClock();
  const actions = new ActionRegistry({ runner, defaultLimits: DEFAULT_LIMITS, now: clock.now });
  return { actions, runner: runner as FakeRunner, clock };
}

describe('ActionRegistry', () => {
  describe('create validation', () => {
    const manySecrets = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`S${i}`, 'v']));
    const manyHosts = Array.from({ length: 101 }, (_, i) => `h${i}.example.com`);
    const manyNetworks = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    const cases: Array<{ name: string; definition: unknown; message: string }> = [
      { name: 'not an object', definition: null, message: body('expected an object') },
      { name: 'an array', definition: [], message: body('expected an object') },
      {
        name: 'an unknown field',
        definition: { name: 'a', handler, runtime: 'node18' },
        message: body('unknown field "runtime"'),
      },
      { name: 'no name', definition: { handler }, message: body('name is required') },
      {
        name: 'an empty name',
        definition: { name: '', handler },
        message: body('name must be a string of 1 to 128 characters'),
      },
      {
        name: 'a 129-character name',
        definition: { name: 'n'.repeat(129), handler },
        message: body('name must be a string of 1 to 128 characters'),
      },
      {
        name: 'a name that is not a string',
        definition: { name: 42, handler },
        message: body('name must be a string of 1 to 128 characters'),
      },
      {
        name: 'neither handler nor code',
        definition: { name: 'a' },
        message: body('handler or code is required'),
      },
      {
        name: 'both handler and code',
        definition: { name: 'a', handler, code: CODE },
        message: body('give either handler or code, not both'),
      },
      {
        name: 'a handler that is not a function',
        definition: { name: 'a', handler: 'return 1' },
        message: body(
          'handler must be a function, or { onExecutePostExchange } for the post-exchange trigger',
        ),
      },
      {
        name: 'empty code',
        definition: { name: 'a', code: '' },
        message: body('code must be a non-empty string'),
      },
      {
        name: 'code that is not a string',
        definition: { name: 'a', code: 12 },
        message: body('code must be a non-empty string'),
      },
      {
        name: 'code over 100 kB',
        definition: { name: 'a', code: 'x'.repeat(102_401) },
        message: body('code must be at most 102400 bytes of UTF-8 (got 102401)'),
      },
      {
        name: 'code over 100 kB in UTF-8 though fewer characters',
        definition: { name: 'a', code: '€'.repeat(40_000) },
        message: body('code must be at most 102400 bytes of UTF-8 (got 120000)'),
      },
      {
        name: 'secrets that are not an object',
        definition: { name: 'a', handler, secrets: ['x'] },
        message: body('secrets must be an object of name to string value'),
      },
      {
        name: 'a secret name starting with a digit',
        definition: { name: 'a', handler, secrets: { '1KEY': 'v' } },
        message: body(
          'secret name "1KEY" must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$',
        ),
      },
      {
        name: 'a secret name with a dash',
        definition: { name: 'a', handler, secrets: { 'API-KEY': 'v' } },
        message: body(
          'secret name "API-KEY" must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$',
        ),
      },
      {
        name: 'an empty secret name',
        definition: { name: 'a', handler, secrets: { '': 'v' } },
        message: body(
          'secret name "" must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$',
        ),
      },
      {
        name: 'a 129-character secret name',
        definition: { name: 'a', handler, secrets: { ['K'.repeat(129)]: 'v' } },
        message: body(
          `secret name "${'K'.repeat(129)}" must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$`,
        ),
      },
      {
        name: 'a __proto__ secret',
        definition: { name: 'a', handler, secrets: JSON.parse('{"__proto__":"v"}') as unknown },
        message: body('secret name "__proto__" is not allowed'),
      },
      {
        name: 'a secret value that is not a string',
        definition: { name: 'a', handler, secrets: { KEY: 1 } },
        message: body('secret KEY must be a string'),
      },
      {
        name: 'a secret value over 4096 characters',
        definition: { name: 'a', handler, secrets: { KEY: 'v'.repeat(4097) } },
        message: body('secret KEY must be at most 4096 characters'),
      },
      {
        name: '101 secrets',
        definition: { name: 'a', handler, secrets: manySecrets },
        message: body('secrets must hold at most 100 entries'),
      },
      {
        name: 'allowed_hosts that is not an array',
        definition: { name: 'a', handler, allowed_hosts: 'api.example.com' },
        message: body('allowed_hosts must be an array of host names'),
      },
      {
        name: 'an allowed host with a scheme',
        definition: { name: 'a', handler, allowed_hosts: ['https://api.example.com'] },
        message: body(
          `allowed_hosts[0]: ${messageOf(() => parseHostPattern('https://api.example.com'))}`,
        ),
      },
      {
        name: 'an allowed host with an out-of-range port',
        definition: {
          name: 'a',
          handler,
          allowed_hosts: ['api.example.com', 'idp.example.com:70000'],
        },
        message: body(
          `allowed_hosts[1]: ${messageOf(() => parseHostPattern('idp.example.com:70000'))}`,
        ),
      },
      {
        name: 'an allowed host that is not a string',
        definition: { name: 'a', handler, allowed_hosts: [443] },
        message: body(
          `allowed_hosts[0]: ${messageOf(() => parseHostPattern(443 as unknown as string))}`,
        ),
      },
      {
        name: 'a wildcard over a top-level domain',
        definition: { name: 'a', handler, allowed_hosts: ['*.com'] },
        message: body('allowed_hosts[0]: a wildcard needs at least two labels after "*."'),
      },
      {
        name: '101 allowed hosts',
        definition: { name: 'a', handler, allowed_hosts: manyHosts },
        message: body('allowed_hosts must hold at most 100 entries'),
      },
      {
        name: 'allowed_private_networks that is not an array',
        definition: { name: 'a', handler, allowed_private_networks: '10.0.0.0/8' },
        message: body('allowed_private_networks must be an array of CIDRs'),
      },
      {
        name: 'a private network that is not a string',
        definition: { name: 'a', handler, allowed_private_networks: [10] },
        message: body('allowed_private_networks[0] must be a string'),
      },
      {
        name: 'a private network with a bad prefix',
        definition: { name: 'a', handler, allowed_private_networks: ['10.0.0.0/33'] },
        message: body(`allowed_private_networks[0]: ${messageOf(() => parseCidr('10.0.0.0/33'))}`),
      },
      {
        name: '101 private networks',
        definition: { name: 'a', handler, allowed_private_networks: manyNetworks },
        message: body('allowed_private_networks must hold at most 100 entries'),
      },
      {
        name: 'limits that are not an object',
        definition: { name: 'a', handler, limits: 5 },
        message: body('limits must be an object'),
      },
      {
        name: 'an unknown limit',
        definition: { name: 'a', handler, limits: { heapMb: 5 } },
        message: body('unknown limit "heapMb"'),
      },
      ...(
        [
          ['timeoutMs', 0, '1 to 60000'],
          ['timeoutMs', 60_001, '1 to 60000'],
          ['timeoutMs', 1.5, '1 to 60000'],
          ['cpuTimeMs', 0, '1 to 10000'],
          ['cpuTimeMs', 10_001, '1 to 10000'],
          ['memoryMb', 7, '8 to 1024'],
          ['memoryMb', 1025, '8 to 1024'],
          ['memoryMb', '64', '8 to 1024'],
          ['maxConcurrency', 0, '1 to 10000'],
          ['maxConcurrency', 10_001, '1 to 10000'],
        ] as const
      ).map(([limit, value, range]) => ({
        name: `limits.${limit} = ${JSON.stringify(value)}`,
        definition: { name: 'a', handler, limits: { [limit]: value } },
        message: body(`limits.${limit} must be an integer from ${range}`),
      })),
      {
        name: 'empty supported_triggers',
        definition: { name: 'a', handler, supported_triggers: [] },
        message: body('supported_triggers must be an array of 1 to 10 triggers'),
      },
      {
        name: 'a trigger without a version',
        definition: { name: 'a', handler, supported_triggers: [{ id: 'custom-token-exchange' }] },
        message: body(
          'supported_triggers[0] must be { id, version } with strings of 1 to 64 characters',
        ),
      },
      {
        name: 'a trigger with an extra property',
        definition: {
          name: 'a',
          handler,
          supported_triggers: [{ id: 'custom-token-exchange', version: 'v1', status: 'CURRENT' }],
        },
        message: body(
          'supported_triggers[0] must be { id, version } with strings of 1 to 64 characters',
        ),
      },
      {
        name: 'a duplicate trigger',
        definition: {
          name: 'a',
          handler,
          supported_triggers: [
            { id: 'custom-token-exchange', version: 'v1' },
            { id: 'custom-token-exchange', version: 'v1' },
          ],
        },
        message: body('supported_triggers[1] is a duplicate'),
      },
    ];

    for (const { name, definition, message } of cases) {
      it(`refuses ${name}`, async () => {
        const { actions } = setup();
        await expectManagementError(
          actions.create(definition as ActionDefinition),
          'invalid_body',
          message,
        );
        expect(await actions.list()).to.eql([]);
      });
    }

    it('turns a syntax error from the runner into invalid_body, keeping its line and column', async () => {
      const { actions, runner } = setup();
      await expectManagementError(
        actions.create({ name: 'broken', code: 'SYNTAX )' }),
        'invalid_body',
        SYNTAX_ERROR,
      );
      expect(runner.validated).to.eql(['SYNTAX )']);
      expect(await actions.list()).to.eql([]);
    });

    it('lets other runner failures through unchanged', async () => {
      const failure = new Error('isolate pool exhausted');
      const runner: ActionRunner = {
        run: async () => undefined,
        validate: async () => {
          throw failure;
        },
        close: async () => undefined,
      };
      const { actions } = setup(runner);
      expect(await rejection(actions.create({ name: 'a', code: CODE }))).to.equal(failure);
    });

    it('refuses code when the runner cannot validate it (no sandbox), accepts a handler', async () => {
      const runner: ActionRunner = { run: async () => undefined, close: async () => undefined };
      const { actions } = setup(runner);
      await expectManagementError(
        actions.create({ name: 'a', code: CODE }),
        'unsupported',
        'This router runs actions without a sandbox: give a handler instead of code, or enable the sandbox.',
      );
      expect((await actions.create({ name: 'a', handler })).runtime).to.equal('in-process');
    });

    it('accepts the boundaries of every rule', async () => {
      const { actions } = setup();
      const action = await actions.create({
        name: 'n'.repeat(128),
        code: `${CODE}//${'x'.repeat(102_400 - CODE.length - 2)}`,
        secrets: {
          ...Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`S${i}`, ''])),
          ['_'.repeat(128)]: 'v'.repeat(4096),
        },
        allowed_hosts: Array.from({ length: 100 }, (_, i) => `h${i}.example.com`),
        allowed_private_networks: Array.from({ length: 100 }, (_, i) => `10.0.${i}.0/24`),
        limits: { timeoutMs: 60_000, cpuTimeMs: 1, memoryMb: 8, maxConcurrency: 10_000 },
      });
      expect(action.secrets).to.have.length(100);
      expect(action.allowed_hosts).to.have.length(100);
      expect(action.limits).to.eql({
        timeoutMs: 60_000,
        cpuTimeMs: 1,
        memoryMb: 8,
        maxConcurrency: 10_000,
      });
    });
  });

  describe('create', () => {
    it('returns the whole action: code runs isolated, defaults applied', async () => {
      const { actions } = setup();
      const action = await actions.create({
        name: 'partner tokens',
        code: CODE,
        secrets: { JWKS_URL: 'https://partner.example.com/jwks', API_KEY: 'k-123456789' },
        allowed_hosts: ['Partner.Example.COM', '*.idp.example.com:8443', 'partner.example.com'],
        allowed_private_networks: ['10.1.0.0/16', '10.1.0.0/16'],
        limits: { timeoutMs: 5000 },
      });
      expect(action.id).to.match(UUID);
      expect(action).to.eql({
        id: action.id,
        name: 'partner tokens',
        supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
        code: CODE,
        runtime: 'isolated-vm',
        secrets: [
          { name: 'JWKS_URL', updated_at: '2025-06-01T00:00:00.000Z' },
          { name: 'API_KEY', updated_at: '2025-06-01T00:00:00.000Z' },
        ],
        allowed_hosts: ['partner.example.com', '*.idp.example.com:8443'],
        allowed_private_networks: ['10.1.0.0/16'],
        limits: { timeoutMs: 5000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 },
        status: 'built',
        all_changes_deployed: false,
        managed_by: 'code',
        created_at: '2025-06-01T00:00:00.000Z',
        updated_at: '2025-06-01T00:00:00.000Z',
      });
    });

    it('runs a handler in process, with no code in the view', async () => {
      const { actions } = setup();
      const action = await actions.create({
        name: 'trusted',
        handler,
        supported_triggers: [
          { id: 'post-login', version: 'v3' },
          { id: 'custom-token-exchange', version: 'v1' },
        ],
      });
      expect(action).to.eql({
        id: action.id,
        name: 'trusted',
        supported_triggers: [
          { id: 'post-login', version: 'v3' },
          { id: 'custom-token-exchange', version: 'v1' },
        ],
        runtime: 'in-process',
        secrets: [],
        allowed_hosts: [],
        allowed_private_networks: [],
        limits: DEFAULT_LIMITS,
        status: 'built',
        all_changes_deployed: false,
        managed_by: 'code',
        created_at: '2025-06-01T00:00:00.000Z',
        updated_at: '2025-06-01T00:00:00.000Z',
      });
    });

    it('ignores fields given as undefined', async () => {
      const { actions } = setup();
      const definition = { name: 'a', handler, code: undefined } as unknown as ActionDefinition;
      expect((await actions.create(definition)).runtime).to.equal('in-process');
    });

    it('never shows secret values, in any result', async () => {
      const { actions } = setup();
      const secret = 'super-secret-value-0123456789';
      const created = await actions.create({ name: 'a', code: CODE, secrets: { KEY: secret } });
      const updated = await actions.update(created.id, { secrets: { KEY: secret, OTHER: secret } });
      const deployed = await actions.deploy(created.id);
      const results = [
        created,
        updated,
        deployed,
        await actions.get(created.id),
        await actions.list(),
      ];
      expect(JSON.stringify(results)).not.to.include(secret);
      expect(updated.secrets.map((s) => s.name)).to.eql(['KEY', 'OTHER']);
    });

    it('hands out deep copies: changing a result changes nothing stored', async () => {
      const { actions } = setup();
      const created = await actions.create({
        name: 'a',
        handler,
        allowed_hosts: ['a.example.com'],
      });
      created.name = 'changed';
      created.allowed_hosts.push('evil.example.com');
      created.limits.timeoutMs = 1;
      created.supported_triggers[0]!.id = 'post-login';
      const [listed] = await actions.list();
      listed!.secrets.push({ name: 'X', updated_at: '' });
      expect(await actions.get(created.id)).to.include({ name: 'a' });
      expect(await actions.get(created.id)).to.deep.include({
        allowed_hosts: ['a.example.com'],
        limits: DEFAULT_LIMITS,
        supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
        secrets: [],
      });
    });
  });

  describe('get, list, delete', () => {
    it('lists in creation order', async () => {
      const { actions } = setup();
      const a = await actions.create({ name: 'first', handler });
      const b = await actions.create({ name: 'second', code: CODE });
      expect((await actions.list()).map((x) => [x.id, x.name])).to.eql([
        [a.id, 'first'],
        [b.id, 'second'],
      ]);
    });

    for (const [method, call] of [
      ['get', (r: ActionRegistry) => r.get('nope')],
      ['update', (r: ActionRegistry) => r.update('nope', { name: 'x' })],
      ['deploy', (r: ActionRegistry) => r.deploy('nope')],
      ['delete', (r: ActionRegistry) => r.delete('nope')],
    ] as const) {
      it(`${method} of an unknown action is not_found`, async () => {
        const { actions } = setup();
        await expectManagementError(call(actions), 'not_found', 'Action not found.');
      });
    }

    it('refuses to delete an action a binding check claims, until the check lets go', async () => {
      const { actions, runner } = setup();
      const action = await actions.create({ name: 'a', handler });
      await actions.deploy(action.id);
      const bound = new Set([action.id]);
      const remove = actions.addBindingCheck((id) => bound.has(id));
      await expectManagementError(
        actions.delete(action.id),
        'action_in_use',
        'Action is bound to a token exchange profile; delete the profile first.',
      );
      expect(actions.deployed(action.id)).to.not.equal(undefined);
      expect(runner.released).to.eql([]);

      remove();
      const live = actions.deployed(action.id);
      await actions.delete(action.id);
      expect(runner.released).to.eql([live]);
      expect(actions.deployed(action.id)).to.equal(undefined);
      await expectManagementError(actions.get(action.id), 'not_found', 'Action not found.');
    });

    it('deletes an undeployed action without releasing anything', async () => {
      const { actions, runner } = setup();
      const action = await actions.create({ name: 'a', handler });
      await actions.delete(action.id);
      expect(runner.released).to.eql([]);
      expect(await actions.list()).to.eql([]);
    });
  });

  describe('update', () => {
    it('changes the draft only, with updated_at moving', async () => {
      const { actions, clock } = setup();
      const action = await actions.create({ name: 'a', code: CODE });
      clock.tick();
      const updated = await actions.update(action.id, { name: 'renamed', handler });
      const { code: _replaced, ...rest } = action;
      expect(updated).to.eql({
        ...rest,
        name: 'renamed',
        runtime: 'in-process',
        updated_at: '2025-06-01T00:00:01.000Z',
      });
      expect(await actions.get(action.id)).to.eql(updated);
    });

    it('replaces the whole secret set; an unchanged value keeps its updated_at', async () => {
      const { actions, clock } = setup();
      const action = await actions.create({
        name: 'a',
        handler,
        secrets: { KEEP: 'same-value', CHANGE: 'old-value', DROP: 'gone-value' },
      });
      clock.tick();
      const updated = await actions.update(action.id, {
        secrets: { KEEP: 'same-value', CHANGE: 'new-value', ADD: 'new-secret' },
      });
      expect(updated.secrets).to.eql([
        { name: 'KEEP', updated_at: '2025-06-01T00:00:00.000Z' },
        { name: 'CHANGE', updated_at: '2025-06-01T00:00:01.000Z' },
        { name: 'ADD', updated_at: '2025-06-01T00:00:01.000Z' },
      ]);
      await actions.deploy(action.id);
      expect(actions.deployed(action.id)?.secrets).to.eql({
        KEEP: 'same-value',
        CHANGE: 'new-value',
        ADD: 'new-secret',
      });
    });

    it('merges patched limits with the defaults, not with the previous limits', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'a', handler, limits: { memoryMb: 128 } });
      const updated = await actions.update(action.id, { limits: { timeoutMs: 5000 } });
      expect(updated.limits).to.eql({ ...DEFAULT_LIMITS, timeoutMs: 5000 });
    });

    it('applies the create rules to a patch, and refuses an empty one', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'a', handler });
      const cases: Array<[unknown, string]> = [
        [{}, body('at least one field is required')],
        [{ name: undefined }, body('at least one field is required')],
        [{ nom: 'x' }, body('unknown field "nom"')],
        [{ name: '' }, body('name must be a string of 1 to 128 characters')],
        [{ handler, code: CODE }, body('give either handler or code, not both')],
        [
          { secrets: { 'bad name': 'v' } },
          body(
            'secret name "bad name" must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$',
          ),
        ],
        [{ limits: { cpuTimeMs: 0 } }, body('limits.cpuTimeMs must be an integer from 1 to 10000')],
        [{ code: 'SYNTAX' }, SYNTAX_ERROR],
      ];
      for (const [patch, message] of cases) {
        await expectManagementError(
          actions.update(action.id, patch as never),
          'invalid_body',
          message,
        );
      }
      expect(await actions.get(action.id)).to.eql(action);
    });

    it('is not_found when the action is deleted while its code is being checked', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const runner: ActionRunner = {
        run: async () => undefined,
        validate: () => gate,
        close: async () => undefined,
      };
      const { actions } = setup(runner);
      const action = await actions.create({ name: 'a', handler });
      const pending = actions.update(action.id, { code: CODE });
      await actions.delete(action.id);
      release();
      await expectManagementError(pending, 'not_found', 'Action not found.');
    });

    it('may drop the custom-token-exchange trigger only while no profile is bound', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'a', handler });
      const postLogin = [{ id: 'post-login', version: 'v3' }];
      const remove = actions.addBindingCheck((id) => id === action.id);
      await expectManagementError(
        actions.update(action.id, { supported_triggers: postLogin }),
        'action_in_use',
        'Action is bound to a token exchange profile and must keep the custom-token-exchange trigger.',
      );
      expect((await actions.update(action.id, { name: 'still bound' })).name).to.equal(
        'still bound',
      );
      remove();
      const updated = await actions.update(action.id, { supported_triggers: postLogin });
      expect(updated.supported_triggers).to.eql(postLogin);
    });
  });

  describe('post-exchange handlers given as functions', () => {
    const POST_EXCHANGE = [{ id: 'post-exchange', version: 'v1' }] as [
      { id: 'post-exchange'; version: string },
    ];

    it('keeps a function declared for the post-exchange trigger as its onExecutePostExchange', async () => {
      const { actions } = setup();
      const onExecutePostExchange = (): void => undefined;
      const action = await actions.create({
        name: 'claims',
        supported_triggers: POST_EXCHANGE,
        handler: onExecutePostExchange,
      });
      await actions.deploy(action.id);
      expect(actions.deployed(action.id)!.handler).to.deep.equal({ onExecutePostExchange });
      expect(Object.isFrozen(actions.deployed(action.id)!.handler)).to.equal(true);
    });

    it('wraps a function given by update for the draft’s triggers, a new revision to deploy', async () => {
      const { actions } = setup();
      const first = (): void => undefined;
      const second = (): void => undefined;
      const action = await actions.create({
        name: 'claims',
        supported_triggers: POST_EXCHANGE,
        handler: first,
      });
      await actions.deploy(action.id);
      const updated = await actions.update(action.id, { handler: second });
      expect(updated.all_changes_deployed).to.equal(false);
      await actions.deploy(action.id);
      expect(actions.deployed(action.id)!.handler).to.deep.equal({ onExecutePostExchange: second });
    });

    it('keeps a function without the post-exchange trigger as a custom-token-exchange handler', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'profile action', handler });
      expect(action.supported_triggers).to.deep.equal([
        { id: 'custom-token-exchange', version: 'v1' },
      ]);
      await actions.deploy(action.id);
      expect(actions.deployed(action.id)!.handler).to.equal(handler);
    });
  });

  describe('deploy', () => {
    it('freezes the draft into a numbered, immutable version', async () => {
      const { actions } = setup();
      const action = await actions.create({
        name: 'a',
        code: CODE,
        secrets: { KEY: 'value-1' },
        allowed_hosts: ['idp.example.com'],
        allowed_private_networks: ['10.0.0.0/8'],
      });
      expect(actions.deployed(action.id)).to.equal(undefined);
      const deployed = await actions.deploy(action.id);
      expect(deployed).to.deep.include({
        deployed_version: {
          id: deployed.deployed_version!.id,
          number: 1,
          deployed_at: '2025-06-01T00:00:00.000Z',
        },
        all_changes_deployed: true,
      });
      const version = actions.deployed(action.id)!;
      expect(version).to.eql({
        action_id: action.id,
        number: 1,
        code: CODE,
        secrets: { KEY: 'value-1' },
        allowed_hosts: ['idp.example.com'],
        allowed_private_networks: ['10.0.0.0/8'],
        limits: DEFAULT_LIMITS,
      });
      for (const part of [
        version,
        version.secrets,
        version.allowed_hosts,
        version.allowed_private_networks,
        version.limits,
      ]) {
        expect(Object.isFrozen(part)).to.equal(true);
      }
      expect(actions.deployed(action.id)).to.equal(version);
    });

    it('keeps the live version when the draft changes; holders keep theirs across a redeploy', async () => {
      const { actions, runner, clock } = setup();
      const action = await actions.create({ name: 'a', code: CODE, secrets: { KEY: 'value-1' } });
      await actions.deploy(action.id);
      const inFlight = actions.deployed(action.id)!;

      const updated = await actions.update(action.id, {
        code: `${CODE} // v2`,
        secrets: { KEY: 'value-2' },
      });
      expect(updated.all_changes_deployed).to.equal(false);
      expect(actions.deployed(action.id)).to.equal(inFlight);
      expect(inFlight).to.deep.include({ number: 1, code: CODE, secrets: { KEY: 'value-1' } });
      expect(runner.released).to.eql([]);

      clock.tick();
      const redeployed = await actions.deploy(action.id);
      expect(redeployed.deployed_version!.id).to.match(UUID);
      expect(redeployed).to.deep.include({
        deployed_version: {
          id: redeployed.deployed_version!.id,
          number: 2,
          deployed_at: '2025-06-01T00:00:01.000Z',
        },
        all_changes_deployed: true,
      });
      const live = actions.deployed(action.id)!;
      expect(live).to.deep.include({
        number: 2,
        code: `${CODE} // v2`,
        secrets: { KEY: 'value-2' },
      });
      expect(runner.released).to.have.length(1);
      expect(runner.released[0]).to.equal(inFlight);
      expect(inFlight).to.deep.include({ number: 1, code: CODE, secrets: { KEY: 'value-1' } });
    });

    it('makes a new version on every deploy, releasing the one it replaces', async () => {
      const { actions, runner } = setup();
      const action = await actions.create({ name: 'a', handler });
      await actions.deploy(action.id);
      await actions.deploy(action.id);
      await actions.deploy(action.id);
      expect(actions.deployed(action.id)?.number).to.equal(3);
      expect(runner.released.map((v) => v.number)).to.eql([1, 2]);
    });

    it('tracks all_changes_deployed: a rename needs no redeploy, a limit change does', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'a', handler });
      await actions.deploy(action.id);
      expect((await actions.update(action.id, { name: 'b' })).all_changes_deployed).to.equal(true);
      expect(
        (await actions.update(action.id, { limits: { timeoutMs: 1000 } })).all_changes_deployed,
      ).to.equal(false);
      expect(actions.deployed(action.id)?.limits).to.eql(DEFAULT_LIMITS);
      expect((await actions.deploy(action.id)).all_changes_deployed).to.equal(true);
      expect(actions.deployed(action.id)?.limits.timeoutMs).to.equal(1000);
    });

    it('deploys a handler as a handler', async () => {
      const { actions } = setup();
      const action = await actions.create({ name: 'a', handler });
      await actions.deploy(action.id);
      const version = actions.deployed(action.id)!;
      expect(version.handler).to.equal(handler);
      expect(version).not.to.have.property('code');
    });
  });

  describe('options', () => {
    it('refuses a runner without run()', () => {
      expect(
        () => new ActionRegistry({ runner: {} as ActionRunner, defaultLimits: DEFAULT_LIMITS }),
      ).to.throw(TypeError, 'ActionRegistry: options.runner must be an ActionRunner');
    });

    it('refuses default limits out of range or incomplete', () => {
      const runner = new FakeRunner();
      expect(
        () => new ActionRegistry({ runner, defaultLimits: { ...DEFAULT_LIMITS, memoryMb: 4 } }),
      ).to.throw(
        TypeError,
        'ActionRegistry: options.defaultLimits.memoryMb must be an integer from 8 to 1024',
      );
      expect(
        () => new ActionRegistry({ runner, defaultLimits: null as unknown as ActionLimits }),
      ).to.throw(TypeError, 'ActionRegistry: options.defaultLimits must be an object');
      const { maxConcurrency: _omitted, ...incomplete } = DEFAULT_LIMITS;
      expect(
        () => new ActionRegistry({ runner, defaultLimits: incomplete as ActionLimits }),
      ).to.throw(
        TypeError,
        'ActionRegistry: options.defaultLimits.maxConcurrency must be an integer from 1 to 10000',
      );
    });

    it('does not keep a reference to the caller’s default limits', async () => {
      const defaultLimits = { ...DEFAULT_LIMITS };
      const actions = new ActionRegistry({ runner: new FakeRunner(), defaultLimits });
      defaultLimits.timeoutMs = 1;
      expect((await actions.create({ name: 'a', handler })).limits).to.eql(DEFAULT_LIMITS);
    });
  });
});
