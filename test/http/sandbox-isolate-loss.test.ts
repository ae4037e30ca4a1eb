import { expect } from 'chai';
import { loadIsolatedVm } from '../../lib/sandbox/isolated-vm/isolates.js';
import { interceptIsolates } from '../sandbox/fixtures/isolate-maker.js';
import { GRANT, testServer, type TestServer } from '../support/fixtures.js';
import { appFailureEntry } from '../support/log-entries.js';
import { NO_STORE, SERVER_ERROR } from '../support/oauth-responses.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';
import { expectIssued, postToken } from '../support/token-requests.js';

const MEMORY_MB = 16;

describe('POST /oauth/token: an action whose isolate cannot be created', function () {
  this.timeout(20_000);
  let server: TestServer;
  let isolates: ReturnType<typeof interceptIsolates>;
  before(() => loadIsolatedVm());
  beforeEach(async () => {
    isolates = interceptIsolates();
    server = await testServer({ sandbox: true });
  });
  afterEach(async () => {
    isolates.restore();
    await server.cte.close();
  });

  const exchange = (subjectTokenType: string) =>
    postToken(server, {
      grant_type: GRANT,
      subject_token: 'anything',
      subject_token_type: subjectTokenType,
    });

  it('answers 500 server_error and logs the cause; the next exchange is issued', async () => {
    const profile = await deployCodeProfile(server.cte, {
      name: 'isolate-loss',
      subjectTokenType: 'urn:acme:isolate-loss',
      code: actionCode("  api.authentication.setUserById('auth0|alice');"),
      limits: { memoryMb: MEMORY_MB },
    });
    isolates.next('throw', MEMORY_MB);

    const res = await exchange(profile.subjectTokenType);
    expect(res.status).to.equal(500);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal(SERVER_ERROR);
    const [entry, ...older] = await server.cte.logs.list();
    expect(older).to.deep.equal([]);
    expect(entry).to.deep.equal(
      appFailureEntry(entry!, SERVER_ERROR, {
        subject_token_type: profile.subjectTokenType,
        profile_id: profile.profileId,
        action_id: profile.actionId,
        cause: `action ${profile.actionId} failed: the sandbox could not be prepared: the host cannot create an isolate now`,
      }),
    );

    expectIssued(await exchange(profile.subjectTokenType), { scope: '' });
    expect(isolates.withLimit(MEMORY_MB)).to.have.length(1);
  });
});
