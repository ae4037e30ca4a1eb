import { expect } from 'chai';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import { MAX_API_ARGUMENT_CHARS } from '../../lib/actions/command-recorder.js';
import { PostExchangeRecorder } from '../../lib/actions/post-exchange-recorder.js';
import { MAX_ACTOR_STRING_LENGTH } from '../../lib/actions/validate-actor.js';
import { MAX_PICTURE_URL_LENGTH } from '../../lib/actions/validate-set-user-by-connection.js';

/** The message of the refusal `call` throws, and that it was remembered as a violation. */
function refusal(recorder: ApiRecorder | PostExchangeRecorder, call: () => void): string {
  const before = recorder.violations.length;
  let message: string | undefined;
  try {
    call();
  } catch (err) {
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).name).to.equal('ActionApiError');
    message = (err as Error).message;
  }
  expect(message, 'the call was accepted').to.be.a('string');
  expect(recorder.violations.slice(before)).to.deep.equal([message]);
  return message as string;
}

// The sandbox refuses these before they leave it; the host checks its own copy again, whatever the
// guest measured (a getter may answer small to the guest's read and huge to the copy's).
describe('api arguments: every size rule holds on the host copy', () => {
  it('refuses an actor sub of 2,000,000 characters and a custom property over the limit', () => {
    const recorder = new ApiRecorder();
    expect(
      refusal(recorder, () =>
        recorder.call('authentication.setActor', [{ sub: 'x'.repeat(2_000_000) }]),
      ),
    ).to.equal(
      `api.authentication.setActor: the arguments are larger than ${MAX_API_ARGUMENT_CHARS} characters`,
    );
    expect(
      refusal(recorder, () =>
        recorder.call('authentication.setActor', [
          { sub: 'agent', act: { sub: 'y'.repeat(MAX_ACTOR_STRING_LENGTH + 1) } },
        ]),
      ),
    ).to.equal(
      `api.authentication.setActor: actor.act.sub exceeds ${MAX_ACTOR_STRING_LENGTH} characters`,
    );
    expect(
      refusal(recorder, () =>
        recorder.call('authentication.setActor', [
          { sub: 'agent', team: 't'.repeat(MAX_ACTOR_STRING_LENGTH + 1) },
        ]),
      ),
    ).to.equal(
      `api.authentication.setActor: actor.team exceeds ${MAX_ACTOR_STRING_LENGTH} characters`,
    );
    recorder.call('authentication.setActor', [
      { sub: 's'.repeat(MAX_ACTOR_STRING_LENGTH), team: 't'.repeat(MAX_ACTOR_STRING_LENGTH) },
    ]);
    expect(recorder.commands).to.have.length(1);
  });

  it('refuses a 1 MB picture, and a picture URL over its own limit', () => {
    const recorder = new ApiRecorder();
    const options = { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' };
    const withPicture = (picture: string) => () =>
      recorder.call('authentication.setUserByConnection', [
        'legacy-db',
        { user_id: 'u1', picture },
        options,
      ]);
    expect(
      refusal(recorder, withPicture(`https://cdn.example.com/${'p'.repeat(1024 * 1024)}`)),
    ).to.equal(
      `api.authentication.setUserByConnection: the arguments are larger than ${MAX_API_ARGUMENT_CHARS} characters`,
    );
    const long = `https://cdn.example.com/${'p'.repeat(MAX_PICTURE_URL_LENGTH)}`;
    expect(refusal(recorder, withPicture(long))).to.equal(
      `api.authentication.setUserByConnection: attributes.picture exceeds ${MAX_PICTURE_URL_LENGTH} characters`,
    );
    expect(recorder.commands).to.deep.equal([]);
  });

  it('counts every argument together, for every trigger', () => {
    const recorder = new PostExchangeRecorder();
    const half = 'h'.repeat(MAX_API_ARGUMENT_CHARS / 2);
    expect(
      refusal(recorder, () =>
        recorder.call('accessToken.setCustomClaim', [half, { a: half, b: half }]),
      ),
    ).to.equal(
      `api.accessToken.setCustomClaim: the arguments are larger than ${MAX_API_ARGUMENT_CHARS} characters`,
    );
    expect(recorder.commands).to.deep.equal([]);
  });
});
