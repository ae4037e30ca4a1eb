import { expect } from 'chai';
import { testAction } from '../../lib/sandbox/test-action.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import { IDP_AUDIENCE, IDP_ISSUER, LocalIdp } from './fixtures/local-idp.js';

describe('testAction', function () {
  this.timeout(10_000);

  it('runs an action with a default event, partial overrides and options, and returns what it did', async () => {
    const result = await testAction(
      `
      exports.onExecuteCustomTokenExchange = async (event, api) => {
        console.log(event.client.client_id, event.client.name, event.transaction.subject_token,
          event.transaction.requested_token_type, event.secrets.key, event.request.ip);
        const seen = api.cache.get('seen');
        api.cache.set('seen', 'yes');
        api.authentication.setUserById('user-' + (seen ? seen.value : 'first'));
      };
      `,
      { client: { client_id: 'my-app' }, transaction: { subject_token: 'the-token' } },
      {
        secrets: { key: 'from-options' },
        cache: { seen: { value: 'cached', expires_at: Date.now() + 60_000 } },
      },
    );
    expect(result.error).to.equal(undefined);
    expect(result.commands).to.deep.equal([{ type: 'setUserById', user_id: 'user-cached' }]);
    expect(result.console).to.deep.equal([
      {
        level: 'log',
        message:
          'my-app Test client the-token urn:ietf:params:oauth:token-type:access_token from-options 127.0.0.1',
      },
    ]);
    expect(result.cache.seen?.value).to.equal('yes');
  });

  it('reports failures as error messages: throws with line numbers, syntax errors, limits', async () => {
    const threw = await testAction(
      'exports.onExecuteCustomTokenExchange = async () => {\n  throw new Error("nope");\n};',
    );
    expect(threw).to.deep.equal({
      commands: [],
      console: [],
      cache: {},
      error: 'Error: nope (line 2, column 9)',
    });
    const syntax = await testAction(
      'exports.onExecuteCustomTokenExchange = async () => {\n  return );\n};',
    );
    expect(syntax.error).to.equal("SyntaxError: Unexpected token ')' (line 2, column 10)");
    const spin = await testAction(
      'exports.onExecuteCustomTokenExchange = async () => { for (;;) {} };',
      {},
      {
        limits: { cpuTimeMs: 20 },
      },
    );
    expect(spin.error).to.equal('action exceeded its CPU budget of 20 ms');
  });

  it('runs api.replay.consume on a fresh store per call, or on the replayStore given', async () => {
    const code = `
      exports.onExecuteCustomTokenExchange = async (event, api) => {
        const first = await api.replay.consume('jti-1', { expiresAt: Date.now() / 1000 + 60 });
        if (!first) return api.access.rejectInvalidSubjectToken('replayed');
        api.authentication.setUserById('alice');
      };`;
    const accepted = [{ type: 'setUserById', user_id: 'alice' }];
    expect((await testAction(code)).commands).to.deep.equal(accepted);
    expect((await testAction(code)).commands).to.deep.equal(accepted);
    const replayStore = new MemoryReplayStore();
    expect((await testAction(code, {}, { replayStore })).commands).to.deep.equal(accepted);
    expect((await testAction(code, {}, { replayStore })).commands).to.deep.equal([
      { type: 'rejectInvalidSubjectToken', reason: 'replayed' },
    ]);
  });

  it('reports a refused api call the action caught, since the exchange fails closed', async () => {
    const result = await testAction(`
      exports.onExecuteCustomTokenExchange = async (event, api) => {
        try { api.authentication.setActor({ act: {} }); } catch (err) { console.log('caught'); }
        api.authentication.setUserById('user-1');
      };
    `);
    expect(result.console).to.deep.equal([{ level: 'log', message: 'caught' }]);
    expect(result.commands).to.deep.equal([{ type: 'setUserById', user_id: 'user-1' }]);
    expect(result.error).to.match(/^api\.authentication\.setActor: /);
  });

  it('verifies a real token with the host capabilities against a local JWKS', async () => {
    const idp = new LocalIdp();
    await idp.start();
    try {
      const result = await testAction(
        `
        const { jwtVerify, createRemoteJWKSet } = require('jose');
        exports.onExecuteCustomTokenExchange = async (event, api) => {
          const { payload } = await jwtVerify(
            event.transaction.subject_token,
            createRemoteJWKSet(new URL(event.secrets.jwks)),
            { issuer: event.secrets.issuer, audience: event.secrets.audience },
          );
          api.authentication.setUserById(payload.sub);
        };
        `,
        { transaction: { subject_token: await idp.token('user-42') } },
        {
          secrets: {
            jwks: `${idp.origin}/.well-known/jwks.json`,
            issuer: IDP_ISSUER,
            audience: IDP_AUDIENCE,
          },
          allowed_hosts: [idp.host],
          allowed_private_networks: ['127.0.0.1/32'],
        },
      );
      expect(result).to.deep.equal({
        commands: [{ type: 'setUserById', user_id: 'user-42' }],
        console: [],
        cache: {},
      });
    } finally {
      await idp.stop();
    }
  });
});
