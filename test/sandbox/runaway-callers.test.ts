import { expect } from 'chai';
import request from 'supertest';
import { GRANT, SECRET, basic, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';

const SUBJECT_TOKEN_TYPE = 'urn:acme:spins-on-demand';

/** An exchange by a backend that names its user's IP in `auth0-forwarded-for`. */
function exchangeFrom(server: TestServer, ip: string, subjectToken: string) {
  return request(server.app)
    .post('/oauth/token')
    .set('Authorization', basic('backend', SECRET))
    .set('auth0-forwarded-for', ip)
    .type('form')
    .send(
      form({
        grant_type: GRANT,
        subject_token: subjectToken,
        subject_token_type: SUBJECT_TOKEN_TYPE,
      }),
    );
}

// One client's input that makes an action run until the sandbox stops it (a token built to make
// its parsing slow, say) used to suspend the action for everyone: now that caller alone.
describe('a runaway action is suspended for the caller whose input makes it run away', function () {
  this.timeout(20_000);
  let server: TestServer;

  beforeEach(async () => {
    server = await testServer({
      sandbox: true,
      clients: [
        {
          client_id: 'backend',
          client_secret: SECRET,
          name: 'Backend',
          token_endpoint_auth_method: 'client_secret_basic',
          is_token_endpoint_ip_header_trusted: true,
          token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
        },
      ],
    });
    await deployCodeProfile(server.cte, {
      name: 'spins-on-demand',
      code: actionCode(`if (event.transaction.subject_token === 'spin') for (;;) {}
  api.authentication.setUserById('auth0|alice');`),
      subjectTokenType: SUBJECT_TOKEN_TYPE,
      limits: { cpuTimeMs: 20 },
    });
  });
  afterEach(() => server.cte.close());

  it('answers the attacker 503 with Retry-After, and another IP 200', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await exchangeFrom(server, '203.0.113.7', 'spin')).status).to.equal(500);
    }
    const refused = await exchangeFrom(server, '203.0.113.7', 'fine');
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.equal('10');
    expect(refused.body).to.deep.include({ error: 'temporarily_unavailable' });
    const served = await exchangeFrom(server, '198.51.100.1', 'fine');
    expect(served.status, JSON.stringify(served.body)).to.equal(200);
    expect(served.body).to.have.property('access_token');
  });
});
