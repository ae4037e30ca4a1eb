import { expect } from 'chai';
import { ManagementError, type ManagementErrorCode } from '../../lib/errors.js';
import { ActionRegistry } from '../../lib/profiles/action-registry.js';
import {
  MAX_PROFILES,
  MAX_TOKEN_LENGTH_CEILING,
  ProfileRegistry,
  isReservedSubjectTokenType,
} from '../../lib/profiles/profile-registry.js';
import { newProfileId } from '../../lib/profiles/profile-fields.js';
import { type ProfileDefinition } from '../../lib/profiles/profile.js';
import type { ActionRunner } from '../../lib/sandbox/action-runner.js';
import { expectManagementError } from '../support/rejections.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 };
const handler = (): void => undefined;
const PROFILE_ID = /^tep_[0-9A-Za-z]{16}$/;

const NOT_A_URI = 'must be an absolute URI starting with https:// or urn:';
const NOT_A_URN =
  'must be a URN urn:<namespace>:<name>, its namespace 2 to 32 letters, digits or inner hyphens (RFC 8141)';
const NOT_A_URL = 'must be a valid https:// URL with a host';
const UNSAFE = 'must not contain whitespace or control characters';

const body = (problem: string): string => `Invalid request body: ${problem}.`;

interface Fixture {
  actions: ActionRegistry;
  profiles: ProfileRegistry;
  tick: () => void;
  /** A deployed custom-token-exchange action. */
  actionId: string;
  definition: (overrides?: Record<string, unknown>) => ProfileDefinition;
}

async function setup(): Promise<Fixture> {
  const runner: ActionRunner = {
    run: async () => undefined,
    validate: () => undefined,
    close: async () => undefined,
  };
  let time = Date.parse('2025-06-01T00:00:00.000Z');
  const now = (): Date => new Date(time);
  const actions = new ActionRegistry({ runner, defaultLimits: LIMITS, now });
  const profiles = new ProfileRegistry({ actions, now });
  const action = await actions.create({ name: 'exchange', handler });
  await actions.deploy(action.id);
  return {
    actions,
    profiles,
    tick: () => (time += 1000),
    actionId: action.id,
    definition: (overrides = {}) => ({
      name: 'Partner ID tokens',
      subject_token_type: 'urn:acme:partner-id-token',
      action_id: action.id,
      type: 'custom_authentication',
      ...overrides,
    }),
  };
}

describe('ProfileRegistry', () => {
  describe('create validation', () => {
    const cases: Array<{
      name: string;
      body: (f: Fixture) => unknown;
      code: ManagementErrorCode;
      message: string;
    }> = [
      {
        name: 'not an object',
        body: () => 'profile',
        code: 'invalid_body',
        message: body('expected an object'),
      },
      { name: 'null', body: () => null, code: 'invalid_body', message: body('expected an object') },
      {
        name: 'an unknown field',
        body: (f) => f.definition({ created_at: '2025-06-01T00:00:00.000Z' }),
        code: 'invalid_body',
        message: body('unknown field "created_at"'),
      },
      ...(['name', 'subject_token_type', 'action_id', 'type'] as const).map((field) => ({
        name: `a missing ${field}`,
        body: (f: Fixture) => f.definition({ [field]: undefined }),
        code: 'invalid_body' as const,
        message: body(`${field} is required`),
      })),
      ...[0, 1.5, '16384', MAX_TOKEN_LENGTH_CEILING + 1].map((value) => ({
        name: `max_token_length ${JSON.stringify(value)}`,
        body: (f: Fixture) => f.definition({ max_token_length: value }),
        code: 'invalid_body' as const,
        message: body(`max_token_length must be an integer from 1 to ${MAX_TOKEN_LENGTH_CEILING}`),
      })),
      ...[1, 'true', null].map((value) => ({
        name: `enforce_may_act ${JSON.stringify(value)}`,
        body: (f: Fixture) => f.definition({ enforce_may_act: value }),
        code: 'invalid_body' as const,
        message: body('enforce_may_act must be a boolean'),
      })),
      ...['ab', 'n'.repeat(51), 42].map((name) => ({
        name: `name ${JSON.stringify(name)}`,
        body: (f: Fixture) => f.definition({ name }),
        code: 'invalid_body' as const,
        message: body('name must be a string of 3 to 50 characters'),
      })),
      ...['urn:a:b', `https://example.com/${'x'.repeat(81)}`, 12345678].map((type) => ({
        name: `subject_token_type ${JSON.stringify(type)}`,
        body: (f: Fixture) => f.definition({ subject_token_type: type }),
        code: 'invalid_body' as const,
        message: body('subject_token_type must be a string of 8 to 100 characters'),
      })),
      ...(
        [
          ['http://auth0.com/token', 'http://auth0.com'],
          ['HTTPS://Auth0.com/token', 'https://auth0.com'],
          ['https://auth0.com.evil.example/t', 'https://auth0.com'],
          // Plain prefixes, as Auth0 words the rule: stricter than URN namespace matching.
          ['urn:ietfx:token-type', 'urn:ietf'],
          ['http://OKTA.com/token', 'http://okta.com'],
          ['https://okta.com/token', 'https://okta.com'],
          ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf'],
          ['URN:IETF:params:oauth:token-type:id_token', 'urn:ietf'],
          ['urn:Auth0:legacy-token', 'urn:auth0'],
          ['Urn:okta:session-token', 'urn:okta'],
        ] as const
      ).map(([type, prefix]) => ({
        name: `the reserved ${JSON.stringify(type)}`,
        body: (f: Fixture) => f.definition({ subject_token_type: type }),
        code: 'invalid_body' as const,
        message: body(`subject_token_type must not use the reserved namespace ${prefix}`),
      })),
      ...(
        [
          ['http://example.com/token', NOT_A_URI],
          ['ftp://example.com/token', NOT_A_URI],
          ['acme-legacy-token', NOT_A_URI],
          ['https:token-type', NOT_A_URI],
          // URNs: the message says what is wrong with them, not that they must start with urn:.
          ['urn:x:rej', NOT_A_URN],
          ['urn:x:token-type', NOT_A_URN],
          ['urn:acme:', NOT_A_URN],
          ['urn:-acme:token', NOT_A_URN],
          ['https://exa mple.com/t', UNSAFE],
          ['https://example.com/a\tb', UNSAFE],
          ['https://example.com:99999/t', NOT_A_URL],
        ] as const
      ).map(([type, problem]) => ({
        name: `the non-URI ${JSON.stringify(type)}`,
        body: (f: Fixture) => f.definition({ subject_token_type: type }),
        code: 'invalid_body' as const,
        message: body(`subject_token_type ${problem}`),
      })),
      ...['', 'a'.repeat(37), 7].map((actionId) => ({
        name: `action_id ${JSON.stringify(actionId)}`,
        body: (f: Fixture) => f.definition({ action_id: actionId }),
        code: 'invalid_body' as const,
        message: body('action_id must be a string of 1 to 36 characters'),
      })),
      ...['custom', 'CUSTOM_AUTHENTICATION', 1].map((type) => ({
        name: `type ${JSON.stringify(type)}`,
        body: (f: Fixture) => f.definition({ type }),
        code: 'invalid_body' as const,
        message: 'Type field must be custom',
      })),
      {
        name: 'an action that does not exist',
        body: (f) => f.definition({ action_id: '00000000-0000-4000-8000-000000000000' }),
        code: 'invalid_body',
        message: 'Action not found',
      },
      {
        name: 'an action without the custom-token-exchange trigger',
        body: async (f) => {
          const action = await f.actions.create({
            name: 'login',
            handler,
            supported_triggers: [{ id: 'post-login', version: 'v3' }],
          });
          await f.actions.deploy(action.id);
          return f.definition({ action_id: action.id });
        },
        code: 'invalid_body',
        message: 'Action must have supported_triggers: custom-token-exchange',
      },
      {
        name: 'an action that is not deployed',
        body: async (f) => {
          const action = await f.actions.create({ name: 'draft', handler });
          return f.definition({ action_id: action.id });
        },
        code: 'action_not_deployed',
        message: 'Action is not deployed',
      },
      {
        name: 'a subject_token_type another profile has',
        body: async (f) => {
          await f.profiles.create(f.definition({ name: 'First' }));
          return f.definition({ name: 'Second' });
        },
        code: 'conflict',
        message: 'subject_token_type already exists for tenant',
      },
    ];

    for (const { name, body: makeBody, code, message } of cases) {
      it(`refuses ${name}`, async () => {
        const fixture = await setup();
        const before = await fixture.profiles.list();
        const definition = (await makeBody(fixture)) as ProfileDefinition;
        await expectManagementError(fixture.profiles.create(definition), code, message);
        expect(await fixture.profiles.list()).to.have.length(
          before.length + (code === 'conflict' ? 1 : 0),
        );
      });
    }

    for (const type of [
      'urn:acme:partner-id-token',
      'urn:ACME-corp:legacy:refresh',
      'https://partner.example.com/id-token',
      'HTTPS://partner.example.com/token',
      'https://auth0.example.com/token',
      `https://example.com/${'x'.repeat(80)}`,
      'urn:ab:cd',
    ]) {
      it(`accepts ${JSON.stringify(type)}`, async () => {
        const f = await setup();
        const profile = await f.profiles.create(f.definition({ subject_token_type: type }));
        expect(profile.subject_token_type).to.equal(type);
        expect(f.profiles.bySubjectTokenType(type)?.id).to.equal(profile.id);
      });
    }

    it(`holds at most ${MAX_PROFILES} profiles`, async () => {
      const f = await setup();
      const created = [];
      for (let i = 0; i < MAX_PROFILES; i++) {
        created.push(
          await f.profiles.create(f.definition({ subject_token_type: `urn:acme:t${i}` })),
        );
      }
      await expectManagementError(
        f.profiles.create(f.definition({ subject_token_type: 'urn:acme:one-more' })),
        'limit_exceeded',
        'You reached the limit of entities of this type for this tenant.',
      );
      expect(f.profiles.bySubjectTokenType('urn:acme:one-more')).to.equal(undefined);
      await f.profiles.delete(created[0]!.id);
      const again = await f.profiles.create(
        f.definition({ subject_token_type: 'urn:acme:one-more' }),
      );
      expect(again.subject_token_type).to.equal('urn:acme:one-more');
    });

    it('refuses an action deleted while the registry was looking it up', async () => {
      const f = await setup();
      const pending = f.profiles.create(f.definition());
      // Runs before create resumes: nothing is bound yet, so the delete succeeds.
      await f.actions.delete(f.actionId);
      await expectManagementError(pending, 'invalid_body', 'Action not found');
      expect(await f.profiles.list()).to.eql([]);
    });
  });

  describe('create', () => {
    it('returns the whole profile with a tep_ id', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      expect(profile.id).to.match(PROFILE_ID);
      expect(profile).to.eql({
        id: profile.id,
        name: 'Partner ID tokens',
        subject_token_type: 'urn:acme:partner-id-token',
        action_id: f.actionId,
        type: 'custom_authentication',
        managed_by: 'code',
        created_at: '2025-06-01T00:00:00.000Z',
        updated_at: '2025-06-01T00:00:00.000Z',
      });
      expect(await f.profiles.get(profile.id)).to.eql(profile);
    });

    it('keeps a max_token_length when one is given, and none otherwise', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition({ max_token_length: 262_144 }));
      expect(profile).to.include({ max_token_length: 262_144 });
      expect(f.profiles.bySubjectTokenType(profile.subject_token_type)).to.include({
        max_token_length: 262_144,
      });
      const plain = await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:plain' }));
      expect(plain).not.to.have.property('max_token_length');
    });

    it('lets several profiles share one action', async () => {
      const f = await setup();
      await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:a-token' }));
      await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:b-token' }));
      expect((await f.profiles.list()).map((p) => p.action_id)).to.eql([f.actionId, f.actionId]);
    });
  });

  describe('update', () => {
    it('renames and moves a profile, keeping its id, action and created_at', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      f.tick();
      const updated = await f.profiles.update(profile.id, {
        name: 'Renamed',
        subject_token_type: 'https://partner.example.com/v2',
      });
      expect(updated).to.eql({
        ...profile,
        name: 'Renamed',
        subject_token_type: 'https://partner.example.com/v2',
        updated_at: '2025-06-01T00:00:01.000Z',
      });
      expect(f.profiles.bySubjectTokenType('urn:acme:partner-id-token')).to.equal(undefined);
      const { managed_by: _managedBy, ...stored } = updated;
      expect(f.profiles.bySubjectTokenType('https://partner.example.com/v2')).to.eql(stored);
      expect(await f.profiles.get(profile.id)).to.eql(updated);
    });

    it('may keep its own subject_token_type', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      const updated = await f.profiles.update(profile.id, {
        name: 'Same type',
        subject_token_type: profile.subject_token_type,
      });
      const { managed_by: _managedBy, ...stored } = updated;
      expect(f.profiles.bySubjectTokenType(profile.subject_token_type)).to.eql(stored);
    });

    const cases: Array<{
      name: string;
      patch: unknown;
      code: ManagementErrorCode;
      message: string;
    }> = [
      ...['action_id', 'type', 'id', 'created_at', 'updated_at'].map((field) => ({
        name: `a change of ${field}`,
        patch: { name: 'Renamed', [field]: 'x' },
        code: 'invalid_body' as const,
        message: 'Unable to update field.',
      })),
      {
        name: 'an unknown field',
        patch: { color: 'red' },
        code: 'invalid_body',
        message: body('unknown field "color"'),
      },
      {
        name: 'an empty patch',
        patch: {},
        code: 'invalid_body',
        message: body(
          'at least one of name, subject_token_type, max_token_length, enforce_may_act is required',
        ),
      },
      {
        name: 'not an object',
        patch: [],
        code: 'invalid_body',
        message: body('expected an object'),
      },
      {
        name: 'a short name',
        patch: { name: 'ab' },
        code: 'invalid_body',
        message: body('name must be a string of 3 to 50 characters'),
      },
      {
        name: 'a reserved subject_token_type',
        patch: { subject_token_type: 'urn:IETF:params:oauth:token-type:access_token' },
        code: 'invalid_body',
        message: body('subject_token_type must not use the reserved namespace urn:ietf'),
      },
      {
        name: 'a subject_token_type that is not a URI',
        patch: { subject_token_type: 'http://example.com/token' },
        code: 'invalid_body',
        message: body(`subject_token_type ${NOT_A_URI}`),
      },
      {
        name: 'the subject_token_type of another profile',
        patch: { subject_token_type: 'urn:acme:taken-token' },
        code: 'conflict',
        message: 'Token exchange profile with the same subject_token_type already exists',
      },
    ];
    for (const { name, patch, code, message } of cases) {
      it(`refuses ${name}`, async () => {
        const f = await setup();
        await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:taken-token' }));
        const profile = await f.profiles.create(f.definition());
        await expectManagementError(f.profiles.update(profile.id, patch as never), code, message);
        expect(await f.profiles.get(profile.id)).to.eql(profile);
        expect(f.profiles.bySubjectTokenType('urn:acme:taken-token')?.id).not.to.equal(profile.id);
      });
    }

    it('sets, changes and with null removes max_token_length, keeping the rest', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      const set = await f.profiles.update(profile.id, { max_token_length: 65_536 });
      expect(set).to.include({ name: profile.name, max_token_length: 65_536 });
      const renamed = await f.profiles.update(profile.id, { name: 'Renamed' });
      expect(renamed).to.include({ name: 'Renamed', max_token_length: 65_536 });
      const cleared = await f.profiles.update(profile.id, { max_token_length: null });
      expect(cleared).not.to.have.property('max_token_length');
      expect(cleared).to.include({ name: 'Renamed' });
      await expectManagementError(
        f.profiles.update(profile.id, { max_token_length: 0 }),
        'invalid_body',
        body(`max_token_length must be an integer from 1 to ${MAX_TOKEN_LENGTH_CEILING}`),
      );
    });

    it('sets and clears enforce_may_act, keeping the rest; false is stored as absent', async () => {
      const f = await setup();
      const created = await f.profiles.create(f.definition({ enforce_may_act: true }));
      expect(created).to.include({ enforce_may_act: true });
      const renamed = await f.profiles.update(created.id, { name: 'Renamed' });
      expect(renamed).to.include({ name: 'Renamed', enforce_may_act: true });
      const cleared = await f.profiles.update(created.id, { enforce_may_act: false });
      expect(cleared).not.to.have.property('enforce_may_act');
      expect(f.profiles.bySubjectTokenType(created.subject_token_type)).not.to.have.property(
        'enforce_may_act',
      );
      const plain = await f.profiles.create(
        f.definition({ subject_token_type: 'urn:acme:plain', enforce_may_act: false }),
      );
      expect(plain).not.to.have.property('enforce_may_act');
    });

    it('is not_found for an unknown profile', async () => {
      const f = await setup();
      await expectManagementError(
        f.profiles.update('tep_0000000000000000', { name: 'Renamed' }),
        'not_found',
        'Token exchange profile not found.',
      );
    });
  });

  describe('get, list, delete', () => {
    it('get is not_found for an unknown profile', async () => {
      const f = await setup();
      await expectManagementError(
        f.profiles.get('tep_0000000000000000'),
        'not_found',
        'Token exchange profile not found.',
      );
    });

    it('lists in creation order, as copies', async () => {
      const f = await setup();
      const a = await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:b-token' }));
      const b = await f.profiles.create(f.definition({ subject_token_type: 'urn:acme:a-token' }));
      const listed = await f.profiles.list();
      expect(listed.map((p) => p.id)).to.eql([a.id, b.id]);
      listed[0]!.name = 'mutated';
      a.name = 'mutated too';
      expect((await f.profiles.get(a.id)).name).to.equal('Partner ID tokens');
    });

    it('deletes a profile, and rejects with not_found for an unknown one', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      expect(await f.profiles.delete(profile.id)).to.equal(undefined);
      await expectManagementError(
        f.profiles.delete(profile.id),
        'not_found',
        'Token exchange profile not found.',
      );
      expect(f.profiles.bySubjectTokenType(profile.subject_token_type)).to.equal(undefined);
      expect(await f.profiles.list()).to.eql([]);
      // The subject_token_type is free again.
      await f.profiles.create(f.definition());
    });

    it('keeps a bound action from being deleted until its last profile goes', async () => {
      const f = await setup();
      const first = await f.profiles.create(
        f.definition({ subject_token_type: 'urn:acme:a-token' }),
      );
      const second = await f.profiles.create(
        f.definition({ subject_token_type: 'urn:acme:b-token' }),
      );
      expect(f.profiles.isActionBound(f.actionId)).to.equal(true);
      await f.profiles.delete(first.id);
      await expectManagementError(
        f.actions.delete(f.actionId),
        'action_in_use',
        'Action is bound to a token exchange profile; delete the profile first.',
      );
      await f.profiles.delete(second.id);
      expect(f.profiles.isActionBound(f.actionId)).to.equal(false);
      await f.actions.delete(f.actionId);
      await expectManagementError(f.actions.get(f.actionId), 'not_found', 'Action not found.');
    });

    it('keeps a bound action on the custom-token-exchange trigger', async () => {
      const f = await setup();
      await f.profiles.create(f.definition());
      await expectManagementError(
        f.actions.update(f.actionId, { supported_triggers: [{ id: 'post-login', version: 'v3' }] }),
        'action_in_use',
        'Action is bound to a token exchange profile and must keep the custom-token-exchange trigger.',
      );
    });
  });

  describe('bySubjectTokenType', () => {
    it('matches exactly and hands out a frozen profile', async () => {
      const f = await setup();
      const profile = await f.profiles.create(f.definition());
      const found = f.profiles.bySubjectTokenType('urn:acme:partner-id-token');
      const { managed_by: _managedBy, ...stored } = profile;
      expect(found).to.eql(stored);
      expect(Object.isFrozen(found)).to.equal(true);
      expect(f.profiles.bySubjectTokenType('URN:ACME:PARTNER-ID-TOKEN')).to.equal(undefined);
      expect(f.profiles.bySubjectTokenType('urn:acme:partner-id-token ')).to.equal(undefined);
      expect(f.profiles.bySubjectTokenType('urn:acme:other')).to.equal(undefined);
    });
  });

  describe('managed in code or through the Management API', () => {
    it('marks who created a profile, and refuses the API changing one the code made', async () => {
      const f = await setup();
      const fromCode = await f.profiles.create(f.definition());
      const fromApi = await f.profiles.create(
        f.definition({ subject_token_type: 'urn:acme:api-token' }),
        { caller: 'api' },
      );
      expect(fromCode.managed_by).to.equal('code');
      expect(fromApi.managed_by).to.equal('api');
      for (const attempt of [
        () => f.profiles.update(fromCode.id, { name: 'Renamed' }, { caller: 'api' }),
        () => f.profiles.delete(fromCode.id, { caller: 'api' }),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).to.be.instanceOf(ManagementError).and.include({ code: 'conflict' });
        expect((error as Error).message).to.equal(
          `Token exchange profile ${fromCode.id} is managed in code: it is defined by the host ` +
            'application at start-up (through cte.profiles); change it there, not through the ' +
            'Management API.',
        );
      }
      expect(
        (await f.profiles.update(fromApi.id, { name: 'Fine' }, { caller: 'api' })).name,
      ).to.equal('Fine');
      expect((await f.profiles.update(fromCode.id, { name: 'From code' })).name).to.equal(
        'From code',
      );
    });

    it('gives every state its own entity tag and refuses a stale If-Match', async () => {
      const f = await setup();
      const created = await f.profiles.create(f.definition(), { caller: 'api' });
      const tag = f.profiles.entityTag(created);
      expect(tag).to.be.a('string');
      const read = await f.profiles.get(created.id);
      expect(f.profiles.entityTag(read)).to.equal(tag);
      const renamed = await f.profiles.update(
        created.id,
        { name: 'First' },
        { caller: 'api', ifMatch: tag! },
      );
      expect(f.profiles.entityTag(renamed)).not.to.equal(tag);
      const stale = await f.profiles
        .update(created.id, { name: 'Second' }, { caller: 'api', ifMatch: tag! })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(stale).to.be.instanceOf(ManagementError).and.include({ code: 'precondition_failed' });
      expect((await f.profiles.get(created.id)).name).to.equal('First');
      await f.profiles.delete(created.id, { caller: 'api', ifMatch: '*' });
      expect(await f.profiles.list()).to.eql([]);
    });
  });

  describe('isReservedSubjectTokenType', () => {
    const cases: Array<[string, boolean]> = [
      ['urn:ietf:params:oauth:token-type:access_token', true],
      ['URN:IETF:PARAMS:OAUTH:TOKEN-TYPE:ID_TOKEN', true],
      ['urn:auth0:params:oauth:token-type:session_transfer_token', true],
      ['urn:Okta:anything', true],
      ['http://auth0.com/x', true],
      ['HTTPS://AUTH0.COM/x', true],
      ['http://okta.com', true],
      ['https://Okta.com/token', true],
      ['urn:acme:legacy-token', false],
      ['https://partner.example.com/auth0.com', false],
      ['https://www.auth0.com/token', false],
      ['urn:ietx:token', false],
      ['', false],
    ];
    for (const [type, reserved] of cases) {
      it(`${JSON.stringify(type)} is ${reserved ? '' : 'not '}reserved`, () => {
        expect(isReservedSubjectTokenType(type)).to.equal(reserved);
      });
    }
  });

  describe('ids and options', () => {
    it('makes unique tep_ ids of 16 base62 characters', () => {
      const ids = new Set(Array.from({ length: 2000 }, () => newProfileId()));
      expect(ids.size).to.equal(2000);
      for (const id of ids) expect(id).to.match(PROFILE_ID);
    });

    it('refuses options without an action registry', () => {
      expect(() => new ProfileRegistry({ actions: {} as ActionRegistry })).to.throw(
        TypeError,
        'ProfileRegistry: options.actions must be an ActionRegistry',
      );
    });
  });
});
