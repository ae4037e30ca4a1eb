import { expect } from 'chai';
import { MFA_OTP, mfaServer, mfaToken, redeemOtp } from '../support/mfa.js';
import { attributeTexts, onlySpan, spanTree, telemetryPerTest } from '../support/telemetry.js';

describe('observability: the MFA grants', () => {
  const telemetry = telemetryPerTest();

  it('traces a redemption like any grant, the verifier in a span of its own, no token in it', async () => {
    const server = await mfaServer({}, { observability: telemetry.observability() });
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const token = await mfaToken(server);
    telemetry.exporter.reset();
    const res = await redeemOtp(server, token, '123456');
    expect(res.status).to.equal(200);
    const spans = telemetry.spans();
    expect(spanTree(spans)).to.include.members([
      '(root) > cte.token',
      'cte.token > cte.client_authentication',
      'cte.token > cte.mfa_verify',
      'cte.token > cte.sign',
    ]);
    expect(onlySpan(spans, 'cte.token').attributes).to.include({
      'cte.grant_type': MFA_OTP,
      'cte.client_id': 'app',
      'cte.result': 'success',
    });
    const texts = attributeTexts(spans).join('\n');
    for (const secret of [token, res.body.access_token as string, '123456']) {
      expect(texts).not.to.include(secret);
    }
  });
});
