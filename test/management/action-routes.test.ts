import { expect } from 'chai';
import request from 'supertest';
import { exchangeBody, form, profileFor } from '../support/fixtures.js';
import { actionCode } from '../support/sandboxed-actions.js';
import { apiError, expectAudit, managementServerPerTest } from './management-support.js';
import { APP } from '../support/oauth-responses.js';

const TYPE = 'urn:partner:id-token';
const TRIGGERS = [{ id: 'custom-token-exchange', version: 'v1' }];
const ALICE = actionCode("api.authentication.setUserById(event.secrets.USER_ID ?? 'auth0|alice');");
const DENY = actionCode("api.access.deny('second_version', 'the second version denies');");

describe('Management API: /actions/actions', function () {
  this.timeout(20_000);
  const server = managementServerPerTest(() => ({ sandbox: true }));

  const create = (extra: Record<string, unknown> = {}) =>
    server.api
      .post('/actions/actions', {
        name: 'partner-exchange',
        supported_triggers: TRIGGERS,
        code: ALICE,
        runtime: 'node22',
        dependencies: [],
        secrets: [{ name: 'USER_ID', value: 'auth0|alice' }],
        ...extra,
      })
      .expect(201);

  const exchange = () =>
    request(server.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody({ subject_token: 'opaque', subject_token_type: TYPE })));

  it('creates an action with write-only secrets, audited without code or secret values', async () => {
    const res = await create();
    expect(res.body).to.deep.include({
      name: 'partner-exchange',
      supported_triggers: TRIGGERS,
      code: ALICE,
      runtime: 'isolated-vm',
      status: 'built',
      all_changes_deployed: false,
      managed_by: 'api',
    });
    expect(res.body.secrets).to.eql([{ name: 'USER_ID', updated_at: res.body.created_at }]);
    expect(JSON.stringify(res.body)).not.to.contain('auth0|alice"');
    expect(res.headers.etag).to.match(/^".+"$/);
    const [entry] = await server.entries('sapi');
    expectAudit(entry, 'sapi', 'Create an action', 'POST /api/v2/actions/actions', 201);
    const after = entry!.details.after as Record<string, unknown>;
    expect(after).not.to.have.property('code');
    expect(after.code_sha256).to.match(/^[0-9a-f]{64}$/);
    expect(after.secrets).to.eql(['USER_ID']);
    const got = await server.api.get(`/actions/actions/${res.body.id}`).expect(200);
    expect(got.body).to.eql(res.body);
    expect(got.headers.etag).to.equal(res.headers.etag);
  });

  it('refuses what the sandbox cannot honour, and bodies the handle refuses, with its messages', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { runtime: 'python3' },
        'Invalid request body: runtime must be a Node.js runtime such as node22 (the code runs in the sandbox).',
      ],
      [
        { dependencies: [{ name: 'lodash', version: '4' }] },
        'Invalid request body: dependencies are not supported: actions run without npm packages.',
      ],
      [
        { deploy: true },
        'Invalid request body: deploy is not supported on create: call deploy after it.',
      ],
      [
        { secrets: { A: 'b' } },
        'Invalid request body: secrets must be an array of { name, value }.',
      ],
    ];
    for (const [extra, message] of cases) {
      const res = await server.api
        .post('/actions/actions', {
          name: 'x-action',
          supported_triggers: TRIGGERS,
          code: ALICE,
          ...extra,
        })
        .expect(400);
      expect(res.body).to.eql(apiError(400, 'Bad Request', message, 'invalid_body'));
    }
    const syntax = { name: 'broken', supported_triggers: TRIGGERS, code: 'exports.x = (;' };
    const res = await server.api.post('/actions/actions', syntax).expect(400);
    const fromHandle = await server.cte.actions.create(syntax).catch((err: Error) => err.message);
    expect(res.body).to.eql(apiError(400, 'Bad Request', fromHandle as string, 'invalid_body'));
    const noCode = await server.api
      .post('/actions/actions', { name: 'no-code', supported_triggers: TRIGGERS })
      .expect(400);
    expect(noCode.body.errorCode).to.equal('invalid_body');
  });

  it('lists actions filtered by trigger, name and deployed, paged', async () => {
    const created = await create();
    const all = await server.api.get('/actions/actions').expect(200);
    expect(all.body.total).to.equal(2);
    expect(all.body.actions.map((a: { name: string }) => a.name)).to.eql([
      'command-action',
      'partner-exchange',
    ]);
    const byName = await server.api.get('/actions/actions?actionName=partner-exchange').expect(200);
    expect(byName.body).to.eql({ actions: [created.body], total: 1, page: 0, per_page: 50 });
    const deployed = await server.api.get('/actions/actions?deployed=true').expect(200);
    expect(deployed.body.actions.map((a: { name: string }) => a.name)).to.eql(['command-action']);
    const other = await server.api.get('/actions/actions?triggerId=post-exchange').expect(200);
    expect(other.body).to.eql({ actions: [], total: 0, page: 0, per_page: 50 });
    const second = await server.api.get('/actions/actions?page=1&per_page=1').expect(200);
    expect(second.body).to.eql({ actions: [created.body], total: 2, page: 1, per_page: 1 });
    const bad = await server.api.get('/actions/actions?deployed=yes').expect(400);
    expect(bad.body.message).to.equal('Query validation error: deployed must be true or false.');
  });

  it('deploys, binds a profile, exchanges, redeploys, rolls back: each exchange runs the live version', async () => {
    const created = await create();
    const id = created.body.id as string;
    const v1 = await server.api.post(`/actions/actions/${id}/deploy`).expect(200);
    expect(v1.body).to.deep.include({ action_id: id, number: 1, code: ALICE, deployed: true });
    await server.api
      .post('/token-exchange-profiles', {
        name: 'Partner tokens',
        subject_token_type: TYPE,
        action_id: id,
        type: 'custom_authentication',
      })
      .expect(201);
    await exchange().expect(200);

    await server.api.patch(`/actions/actions/${id}`, { code: DENY }).expect(200);
    const v2 = await server.api.post(`/actions/actions/${id}/deploy`).expect(200);
    expect(v2.body).to.deep.include({ number: 2, code: DENY, deployed: true });
    const denied = await exchange().expect(400);
    expect(denied.body).to.include({ error: 'second_version' });

    const versions = await server.api.get(`/actions/actions/${id}/versions`).expect(200);
    expect(versions.body.total).to.equal(2);
    expect(
      versions.body.versions.map((v: { number: number; deployed: boolean }) => [
        v.number,
        v.deployed,
      ]),
    ).to.eql([
      [2, true],
      [1, false],
    ]);
    const one = await server.api.get(`/actions/actions/${id}/versions/${v1.body.id}`).expect(200);
    expect(one.body).to.eql({ ...v1.body, deployed: false });

    const rolled = await server.api
      .post(`/actions/actions/${id}/versions/${v1.body.id}/deploy`, {})
      .expect(200);
    expect(rolled.body).to.deep.include({ number: 3, code: ALICE, deployed: true });
    await exchange().expect(200);
    const draft = await server.api.get(`/actions/actions/${id}`).expect(200);
    expect(draft.body.code).to.equal(DENY);

    const entries = await server.entries('sapi');
    expect(entries.map((entry) => entry.description)).to.eql([
      'Create an action',
      'Deploy an action',
      'Create a token exchange profile',
      'Update an action',
      'Deploy an action',
      'Roll back an action to an earlier version',
    ]);
    const bad = await server.api
      .post(`/actions/actions/${id}/versions/${v1.body.id}/deploy`, { update_draft: 'yes' })
      .expect(400);
    expect(bad.body.message).to.equal('Invalid request body: update_draft must be a boolean.');
  });

  it('tests the draft with a payload, answering the recorded commands', async () => {
    const created = await create();
    const res = await server.api
      .post(`/actions/actions/${created.body.id}/test`, {
        payload: { transaction: { subject_token: 'abc' } },
      })
      .expect(200);
    expect(res.body).to.eql({
      payload: {
        commands: [{ type: 'setUserById', user_id: 'auth0|alice' }],
        console: [],
        cache: {},
      },
    });
    const missing = await server.api
      .post(`/actions/actions/${created.body.id}/test`, { event: {} })
      .expect(400);
    expect(missing.body.message).to.equal('Invalid request body: payload must be an object.');
    const code = (await profileFor(server.cte)).action_id;
    const handler = await server.api
      .post(`/actions/actions/${code}/test`, { payload: {} })
      .expect(400);
    expect(handler.body.errorCode).to.equal('unsupported');
    expect(await server.entries('sapi')).to.have.length(1);
  });

  it('deletes an unbound action (204), refuses a bound one, and never one defined in code', async () => {
    const created = await create();
    await server.api.delete(`/actions/actions/${created.body.id}`).expect(204);
    await server.api.get(`/actions/actions/${created.body.id}`).expect(404);
    const code = (await profileFor(server.cte)).action_id;
    const refused = await server.api.delete(`/actions/actions/${code}`).expect(409);
    expect(refused.body.message).to.contain('is managed in code');
    const update = await server.api
      .patch(`/actions/actions/${code}`, { name: 'x-y-z' })
      .expect(409);
    expect(update.body.message).to.contain('through cte.actions');
    await server.api.post(`/actions/actions/${code}/deploy`).expect(409);
  });
});
