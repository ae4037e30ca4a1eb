import { expect } from 'chai';
import request from 'supertest';
import { exchangeBody, form } from '../support/fixtures.js';
import { apiError, expectAudit, managementServer, STALE_ETAG } from './management-support.js';
import type { ManagementServer } from './management-support.js';
import { APP } from '../support/oauth-responses.js';

const IP = '203.0.113.7';
const PATH = '/attack-protection/suspicious-ip-throttling';

describe('Management API: suspicious IP throttling and IP blocks', () => {
  let server: ManagementServer;
  beforeEach(async () => {
    server = await managementServer();
    // The tests speak for a client IP through X-Forwarded-For, as a proxy would.
    server.app.set('trust proxy', 'loopback');
  });
  afterEach(async () => {
    await server.cte.close();
  });

  const rejected = () =>
    request(server.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .set('X-Forwarded-For', IP)
      .type('form')
      .send(form(exchangeBody({ subject_token: 'reject' })));

  it("reads the settings in Auth0's shape", async () => {
    const res = await server.api.get(PATH).expect(200);
    expect(res.body).to.eql({
      enabled: true,
      shields: ['block'],
      allowlist: [],
      stage: { 'pre-custom-token-exchange': { max_attempts: 10, rate: 600_000 } },
    });
    expect(server.cte.attackProtection.getSuspiciousIpThrottling()).to.eql(res.body);
  });

  it('changes the settings for the next exchanges, audited with before and after', async () => {
    const before = (await server.api.get(PATH).expect(200)).body;
    const res = await server.api
      .patch(PATH, {
        allowlist: ['198.51.100.0/24'],
        stage: { 'pre-custom-token-exchange': { max_attempts: 1 } },
      })
      .expect(200);
    const after = {
      ...before,
      allowlist: ['198.51.100.0/24'],
      stage: { 'pre-custom-token-exchange': { max_attempts: 1, rate: 600_000 } },
    };
    expect(res.body).to.eql(after);
    const [entry] = await server.entries('sapi');
    expectAudit(
      entry,
      'sapi',
      'Update suspicious IP throttling settings',
      `PATCH /api/v2${PATH}`,
      200,
    );
    expect(entry!.details).to.deep.include({ before, after });
  });

  it('tags the settings with an ETag and honours If-Match: 412 once they changed', async () => {
    const read = await server.api.get(PATH).expect(200);
    const tag = read.headers.etag!;
    expect(tag).to.match(/^"[\w-]{22}"$/);
    expect(tag).to.equal(server.cte.attackProtection.suspiciousIpThrottlingTag());
    const changed = await server.api
      .patch(PATH, { enabled: false })
      .set('If-Match', tag)
      .expect(200);
    expect(changed.headers.etag).to.not.equal(tag);
    expect((await server.api.get(PATH).expect(200)).headers.etag).to.equal(changed.headers.etag);
    const stale = await server.api
      .patch(PATH, { allowlist: [IP] })
      .set('If-Match', tag)
      .expect(412);
    expect(stale.body).to.eql(STALE_ETAG);
    expect(server.cte.attackProtection.getSuspiciousIpThrottling()).to.include({ enabled: false });
    expect(server.cte.attackProtection.getSuspiciousIpThrottling().allowlist).to.eql([]);
    await server.api
      .patch(PATH, { allowlist: [IP] })
      .set('If-Match', '*')
      .expect(200);
    // Equal settings, equal tag: the original settings give back the original tag.
    await server.api.patch(PATH, { enabled: true, allowlist: [] }).expect(200);
    expect(server.cte.attackProtection.suspiciousIpThrottlingTag()).to.equal(tag);
    const [failure] = await server.entries('fapi');
    expect(failure!.details).to.include({ error: 'precondition_failed', status_code: 412 });
  });

  it('refuses what it cannot do, with the same messages as the handle', async () => {
    const bodies: unknown[] = [
      { stage: { 'pre-login': { max_attempts: 5 } } },
      { stage: { 'pre-custom-token-exchange': { max_attempts: 0 } } },
      { shields: ['admin_notification'] },
      { allowlist: ['not-an-ip'] },
      { enabled: 'yes' },
    ];
    for (const body of bodies) {
      const res = await server.api.patch(PATH, body as object).expect(400);
      const fromHandle = await server.cte.attackProtection
        .updateSuspiciousIpThrottling(body)
        .catch((err: Error) => err.message);
      expect(res.body).to.eql(apiError(400, 'Bad Request', fromHandle as string, 'invalid_body'));
    }
    expect(
      (await server.api.patch(PATH, { stage: { 'pre-login': {} } }).expect(400)).body.message,
    ).to.equal(
      'Invalid request body: stage.pre-login is not supported (supported: pre-custom-token-exchange).',
    );
  });

  it('reports a block (200, else 404) and removes it (204, audited)', async () => {
    await server.api
      .patch(PATH, { stage: { 'pre-custom-token-exchange': { max_attempts: 1 } } })
      .expect(200);
    const free = await server.api.get(`/anomaly/blocks/ips/${IP}`).expect(404);
    expect(free.body).to.eql(
      apiError(404, 'Not Found', 'IP address specified is not currently blocked.', 'not_found'),
    );
    await rejected().expect(400);
    const blocked = await rejected().expect(429);
    expect(blocked.body.error).to.equal('too_many_attempts');
    const check = await server.api.get(`/anomaly/blocks/ips/${IP}`).expect(200);
    expect(check.text).to.equal('');

    await server.api.delete(`/anomaly/blocks/ips/${IP}`).expect(204);
    await server.api.get(`/anomaly/blocks/ips/${IP}`).expect(404);
    await rejected().expect(400);
    const entries = await server.entries('sapi');
    expect(entries[1]).to.include({ description: 'Remove the block of an IP address' });
    expect(entries[1]!.details).to.deep.include({
      target: { type: 'anomaly_block', id: IP },
      before: { blocked: true, remaining_attempts: 0 },
      after: { blocked: false, remaining_attempts: 1 },
    });
  });

  it('answers 400 for something that is not an IP address', async () => {
    const res = await server.api.get('/anomaly/blocks/ips/not-an-ip').expect(400);
    expect(res.body.errorCode).to.equal('invalid_body');
  });
});
