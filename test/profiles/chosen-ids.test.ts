import { expect } from 'chai';
import { ManagementError } from '../../lib/errors.js';
import { ActionRegistry } from '../../lib/profiles/action-registry.js';
import { ProfileRegistry } from '../../lib/profiles/profile-registry.js';
import type { ActionRunner } from '../../lib/sandbox/action-runner.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 };
const ACTION_ID = '7f3c9a52-1b64-4d2e-9a0f-3c5e8b1d2a47';
const PROFILE_ID = 'tep_Partner0Tokens01';
const handler = (): void => undefined;

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
  expect(error).to.be.instanceOf(ManagementError);
  return { code: (error as ManagementError).code, message: (error as ManagementError).message };
}

/** The registries of one router booting, as every instance of a deployment does. */
async function boot() {
  const runner: ActionRunner = {
    run: async () => undefined,
    validate: () => undefined,
    close: async () => undefined,
  };
  const actions = new ActionRegistry({ runner, defaultLimits: LIMITS });
  const profiles = new ProfileRegistry({ actions });
  const action = await actions.create({ id: ACTION_ID, name: 'partner tokens', handler });
  await actions.deploy(action.id);
  const profile = await profiles.create({
    id: PROFILE_ID,
    name: 'Partner tokens',
    subject_token_type: 'urn:acme:partner-token',
    action_id: action.id,
    type: 'custom_authentication',
  });
  return { actions, profiles, action, profile };
}

describe('ids chosen by the caller', () => {
  it('give an action and a profile the same ids on every instance that boots alike', async () => {
    const [a, b] = await Promise.all([boot(), boot()]);
    for (const instance of [a, b]) {
      expect(instance.action.id).to.equal(ACTION_ID);
      expect(instance.profile.id).to.equal(PROFILE_ID);
      expect((await instance.actions.get(ACTION_ID)).name).to.equal('partner tokens');
      expect((await instance.profiles.get(PROFILE_ID)).action_id).to.equal(ACTION_ID);
    }
  });

  it('refuses an action id that is not a lower-case UUID, or is taken', async () => {
    const { actions } = await boot();
    const bad = [
      ACTION_ID.toUpperCase(),
      ACTION_ID.slice(1),
      `${ACTION_ID}0`,
      ACTION_ID.replace(/-/g, ''),
      '',
      42,
      null,
    ];
    for (const id of bad) {
      expect(await failure(actions.create({ id: id as string, name: 'x', handler }))).to.deep.equal(
        {
          code: 'invalid_body',
          message:
            'Invalid request body: id must be a UUID in lower case, like 7f3c9a52-1b64-4d2e-9a0f-3c5e8b1d2a47.',
        },
        String(id),
      );
    }
    expect(await failure(actions.create({ id: ACTION_ID, name: 'again', handler }))).to.deep.equal({
      code: 'conflict',
      message: `an action with id ${ACTION_ID} exists already`,
    });
    expect((await actions.list()).map((action) => action.id)).to.deep.equal([ACTION_ID]);
  });

  it('never changes an action id: update takes none', async () => {
    const { actions } = await boot();
    const patch = { id: '00000000-0000-4000-8000-000000000000', name: 'renamed' };
    expect(await failure(actions.update(ACTION_ID, patch as never))).to.deep.equal({
      code: 'invalid_body',
      message: 'Invalid request body: unknown field "id".',
    });
    expect((await actions.get(ACTION_ID)).name).to.equal('partner tokens');
  });

  it('refuses a profile id that is not tep_ and 16 letters or digits, or is taken', async () => {
    const { profiles } = await boot();
    const definition = (id: unknown, type = 'urn:acme:other-token') => ({
      id: id as string,
      name: 'Other tokens',
      subject_token_type: type,
      action_id: ACTION_ID,
      type: 'custom_authentication' as const,
    });
    const bad = [
      'tep_short',
      'tep_Partner0Tokens012',
      'TEP_Partner0Tokens01',
      'tep_Partner-Tokens01',
      7,
    ];
    for (const id of bad) {
      expect(await failure(profiles.create(definition(id)))).to.deep.equal(
        {
          code: 'invalid_body',
          message: 'Invalid request body: id must be tep_ followed by 16 letters or digits.',
        },
        String(id),
      );
    }
    expect(await failure(profiles.create(definition(PROFILE_ID)))).to.deep.equal({
      code: 'conflict',
      message: 'Token exchange profile with the same id already exists',
    });
    expect((await profiles.list()).map((profile) => profile.id)).to.deep.equal([PROFILE_ID]);
    expect(
      await failure(profiles.update(PROFILE_ID, { id: 'tep_0000000000000000' } as never)),
    ).to.deep.equal({ code: 'invalid_body', message: 'Unable to update field.' });
  });
});
