import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { MemoryConfigStore } from '../../lib/stores/memory-config-store.js';
import type { ConfigSecretKey } from '../../lib/stores/config-secrets.js';
import type { ConfigStore } from '../../lib/stores/config-store.js';
import { exchangeBody, form, testServer } from '../support/fixtures.js';
import { actionCode } from '../support/sandboxed-actions.js';
import { recordingLogger } from '../support/recording-logger.js';
import { managementServer } from './management-support.js';
import type { ManagementServer } from './management-support.js';
import { APP } from '../support/oauth-responses.js';

const TYPE = 'urn:partner:shared-token';
const TRIGGERS = [{ id: 'custom-token-exchange', version: 'v1' }];
const SECRET_USER = 'auth0|alice';
const FROM_SECRET = actionCode('api.authentication.setUserById(event.secrets.USER_ID);');
const DENY = actionCode("api.access.deny('second_version', 'the second version denies');");

/** Resolves once `condition` resolves true; fails after `timeoutMs` (the propagation bound). */
async function eventually(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 1000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Management API: one configuration shared by several routers', function () {
  this.timeout(20_000);
  const ring: ConfigSecretKey[] = [{ kid: 'k1', key: randomBytes(32) }];
  let store: MemoryConfigStore;
  let a: ManagementServer;
  let b: ManagementServer;
  const started: Array<{ cte: { close(): Promise<void> } }> = [];

  const boot = async (keys: ConfigSecretKey[] = ring, logger = recordingLogger().logger) => {
    const server = await managementServer({
      sandbox: true,
      stores: { config: store },
      configSecretKeys: keys,
      logger,
    });
    started.push(server);
    return server;
  };
  const exchange = (server: ManagementServer) =>
    request(server.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody({ subject_token: 'opaque', subject_token_type: TYPE })));

  beforeEach(async () => {
    store = new MemoryConfigStore();
    a = await boot();
    b = await boot();
    await Promise.all([a.cte.ready(), b.cte.ready()]);
  });
  afterEach(async () => {
    for (const server of started.splice(0)) await server.cte.close();
  });

  /** Creates, deploys and binds an action through `a`; resolves to its id and first version. */
  async function deployThroughA(): Promise<{ id: string; v1: string }> {
    const action = await a.api
      .post('/actions/actions', {
        name: 'shared-action',
        supported_triggers: TRIGGERS,
        code: FROM_SECRET,
        secrets: [{ name: 'USER_ID', value: SECRET_USER }],
      })
      .expect(201);
    const v1 = await a.api.post(`/actions/actions/${action.body.id}/deploy`).expect(200);
    await a.api
      .post('/token-exchange-profiles', {
        name: 'Shared tokens',
        subject_token_type: TYPE,
        action_id: action.body.id,
        type: 'custom_authentication',
      })
      .expect(201);
    return { id: action.body.id, v1: v1.body.id };
  }

  it('serves on every router, within a second, what the API changed through one', async () => {
    const { id, v1 } = await deployThroughA();
    await eventually(async () => (await exchange(b)).status === 200, 'b exchanges');
    const token = (await exchange(b).expect(200)).body.access_token as string;
    expect(decodeJwt(token).sub).to.equal(SECRET_USER);

    await a.api.patch(`/actions/actions/${id}`, { code: DENY }).expect(200);
    await a.api.post(`/actions/actions/${id}/deploy`).expect(200);
    await eventually(async () => (await exchange(b)).status === 400, 'b runs version 2');
    expect((await exchange(b)).body.error).to.equal('second_version');

    await a.api.post(`/actions/actions/${id}/versions/${v1}/deploy`).expect(200);
    await eventually(async () => (await exchange(b)).status === 200, 'b runs version 1 again');

    const onA = await a.api.get(`/actions/actions/${id}`).expect(200);
    const onB = await b.api.get(`/actions/actions/${id}`).expect(200);
    expect(onB.body).to.eql(onA.body);
    expect(onB.headers.etag).to.equal(onA.headers.etag);
    const versions = await b.api.get(`/actions/actions/${id}/versions`).expect(200);
    expect(versions.body.versions.map((v: { number: number }) => v.number)).to.eql([3, 2, 1]);
  });

  it('refuses with 412 a change based on what another router changed since', async () => {
    const { id } = await deployThroughA();
    await eventually(async () => (await b.api.get(`/actions/actions/${id}`)).status === 200, 'b');
    const read = await b.api.get(`/actions/actions/${id}`).expect(200);
    await a.api.patch(`/actions/actions/${id}`, { name: 'renamed-on-a' }).expect(200);
    await b.api
      .patch(`/actions/actions/${id}`, { name: 'renamed-on-b' })
      .set('If-Match', read.headers.etag!)
      .expect(412);
    await b.api.patch(`/actions/actions/${id}`, { name: 'last-write-wins' }).expect(200);
    await eventually(
      async () => (await a.api.get(`/actions/actions/${id}`)).body.name === 'last-write-wins',
      'a sees the last write',
    );
  });

  it('keeps a duplicate subject_token_type out across routers', async () => {
    const { id } = await deployThroughA();
    await eventually(async () => (await exchange(b)).status === 200, 'b exchanges');
    const duplicate = await b.api
      .post('/token-exchange-profiles', {
        name: 'Again',
        subject_token_type: TYPE,
        action_id: id,
        type: 'custom_authentication',
      })
      .expect(409);
    expect(duplicate.body.errorCode).to.equal('conflict');
  });

  it('stores secrets encrypted, and a router started later serves the configuration at once', async () => {
    await deployThroughA();
    const stored = JSON.stringify(await store.load(['action', 'action_version', 'profile']));
    expect(stored).to.contain('aes256gcm:k1:');
    expect(stored).not.to.contain(SECRET_USER);

    const later = await boot();
    await later.cte.ready();
    const token = (await exchange(later).expect(200)).body.access_token as string;
    expect(decodeJwt(token).sub).to.equal(SECRET_USER);
  });

  it('rotates keys: a router with a new first key reads the old secrets and writes new ones', async () => {
    const { id } = await deployThroughA();
    const rotated = await boot([{ kid: 'k2', key: randomBytes(32) }, ...ring]);
    await rotated.cte.ready();
    await rotated.api
      .patch(`/actions/actions/${id}`, { secrets: [{ name: 'USER_ID', value: 'auth0|rotated' }] })
      .expect(200);
    const stored = JSON.stringify(await store.load(['action']));
    expect(stored).to.contain('aes256gcm:k2:');
    expect(stored).not.to.contain('auth0|rotated');
  });

  it('fails loudly when a stored secret cannot be decrypted with the configured keys', async () => {
    await deployThroughA();
    const { logger, records } = recordingLogger();
    const stranger = await boot([{ kid: 'other', key: randomBytes(32) }], logger);
    const failure = await stranger.cte.ready().then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).to.equal(
      'a secret sealed with key "k1" cannot be opened: that key is not in the ring',
    );
    // The background syncs keep failing, loudly, until the key is configured.
    await eventually(async () => records.length > 0, 'an error is logged', 3000);
    expect(records[0]).to.include({
      level: 'error',
      message: 'customTokenExchange: the shared configuration could not be read; retrying',
    });
  });

  it('deletes through one router, and the others stop serving it', async () => {
    await deployThroughA();
    await eventually(async () => (await exchange(b)).status === 200, 'b exchanges');
    const listed = (await a.api.get('/token-exchange-profiles').expect(200)).body
      .token_exchange_profiles as Array<{ id: string; subject_token_type: string }>;
    const target = listed.find((p) => p.subject_token_type === TYPE)!;
    await a.api.delete(`/token-exchange-profiles/${target.id}`).expect(204);
    await eventually(async () => (await exchange(b)).status === 400, 'b no longer serves it');
    expect((await exchange(b)).body).to.eql({
      error: 'invalid_request',
      error_description: 'subject_token_type is not supported',
    });
  });

  it('shares suspicious IP throttling settings changed through one router', async () => {
    const PATH = '/attack-protection/suspicious-ip-throttling';
    const changed = await a.api
      .patch(PATH, { stage: { 'pre-custom-token-exchange': { max_attempts: 3, rate: 1000 } } })
      .expect(200);
    expect(changed.body.stage).to.eql({
      'pre-custom-token-exchange': { max_attempts: 3, rate: 1000 },
    });
    await eventually(
      async () =>
        (await b.api.get(PATH)).body.stage['pre-custom-token-exchange'].max_attempts === 3,
      'b applies the settings',
    );
    const later = await boot();
    await later.cte.ready();
    expect(later.cte.attackProtection.getSuspiciousIpThrottling()).to.eql(changed.body);
  });

  it('requires a key ring with a store other than the memory store', async () => {
    const foreign: ConfigStore = {
      load: async () => ({ revision: 0, documents: [] }),
      changes: async () => ({ revision: 0, changes: [] }),
      read: async () => undefined,
      children: async () => [],
      commit: async () => undefined,
      subscribe: () => () => undefined,
      close: async () => undefined,
    };
    const error = await testServer({ stores: { config: foreign } }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(error!.message).to.equal(
      'customTokenExchange: options.configSecretKeys is required with options.stores.config: ' +
        'action secrets are encrypted at rest with it',
    );
  });
});
