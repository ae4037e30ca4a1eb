import { expect } from 'chai';
import {
  decideOutcome,
  type ActionOutcome,
  type RecordedExecution,
} from '../../lib/actions/action-outcome.js';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import type { ActionCommand } from '../../lib/actions/types.js';

const byId: ActionCommand = { type: 'setUserById', user_id: 'auth0|1' };
const deny: ActionCommand = { type: 'deny', code: 'unauthorized_actor', reason: 'no' };
const reject: ActionCommand = { type: 'rejectInvalidSubjectToken', reason: 'expired' };

const recorded = (commands: ActionCommand[], violations: string[] = []): RecordedExecution => ({
  commands,
  violations,
});

describe('decideOutcome', () => {
  const cases: Array<{ name: string; execution: RecordedExecution; outcome: ActionOutcome }> = [
    {
      name: 'a deny wins over a user, a later reject and violations',
      execution: recorded([byId, deny, reject], ['api.authentication.setUserById: boom']),
      outcome: { kind: 'deny', code: 'unauthorized_actor', reason: 'no' },
    },
    {
      name: 'the first of reject and deny wins',
      execution: recorded([reject, deny]),
      outcome: { kind: 'reject', reason: 'expired' },
    },
    {
      name: 'the first of two denies wins',
      execution: recorded([deny, { type: 'deny', code: 'server_error', reason: 'later' }]),
      outcome: { kind: 'deny', code: 'unauthorized_actor', reason: 'no' },
    },
    {
      name: 'violations fail closed even with a user set, every violation in the cause',
      execution: recorded([byId], ['api.a: first', 'api.b: second']),
      outcome: { kind: 'fail', cause: 'api.a: first; api.b: second' },
    },
    {
      name: 'no setUser fails closed',
      execution: recorded([{ type: 'setActor', actor: { sub: 'agent' } }]),
      outcome: { kind: 'fail', cause: 'action did not set a user' },
    },
    {
      name: 'nothing at all fails closed',
      execution: recorded([]),
      outcome: { kind: 'fail', cause: 'action did not set a user' },
    },
    {
      name: 'two recorded setUser calls (a recorder that let them through) fail closed',
      execution: recorded([byId, { type: 'setUserById', user_id: 'auth0|2' }]),
      outcome: { kind: 'fail', cause: 'action set a user 2 times' },
    },
    {
      name: 'a user by id, no actor, no metadata',
      execution: recorded([byId]),
      outcome: {
        kind: 'user',
        selection: { type: 'id', user_id: 'auth0|1' },
        app_metadata: {},
        user_metadata: {},
      },
    },
    {
      name: 'a user by connection, the last actor, metadata merged in call order',
      execution: recorded([
        { type: 'setActor', actor: { sub: 'first' } },
        { type: 'setAppMetadata', key: 'a', value: 1 },
        {
          type: 'setUserByConnection',
          connection: 'partner',
          attributes: { user_id: 'p1', email: 'ada@example.com' },
          options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
        },
        { type: 'setAppMetadata', key: 'b', value: { x: [1] } },
        { type: 'setUserMetadata', key: 'lang', value: 'en' },
        { type: 'setActor', actor: { sub: 'second', act: { sub: 'origin' } } },
        { type: 'setAppMetadata', key: 'a', value: null },
        { type: 'setUserMetadata', key: 'lang', value: 'fr' },
      ]),
      outcome: {
        kind: 'user',
        selection: {
          type: 'connection',
          connection: 'partner',
          attributes: { user_id: 'p1', email: 'ada@example.com' },
          options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
        },
        actor: { sub: 'second', act: { sub: 'origin' } },
        app_metadata: { a: null, b: { x: [1] } },
        user_metadata: { lang: 'fr' },
      },
    },
  ];

  for (const { name, execution, outcome } of cases) {
    it(name, () => {
      expect(decideOutcome(execution)).to.deep.equal(outcome);
    });
  }

  it('leaves out `actor` when none was set', () => {
    expect(decideOutcome(recorded([byId]))).to.not.have.property('actor');
  });

  it('shares no objects with the recorded commands', () => {
    const actor = { sub: 'agent', act: { sub: 'origin' } };
    const attributes = { user_id: 'p1', name: 'Ada' };
    const value = { list: [1] };
    const commands: ActionCommand[] = [
      {
        type: 'setUserByConnection',
        connection: 'partner',
        attributes,
        options: { creationBehavior: 'none', updateBehavior: 'none' },
      },
      { type: 'setActor', actor },
      { type: 'setAppMetadata', key: 'k', value },
    ];
    const outcome = decideOutcome(recorded(commands));
    if (outcome.kind !== 'user' || outcome.selection.type !== 'connection') {
      expect.fail('expected a connection user');
    }
    outcome.actor!.sub = 'mallory';
    outcome.selection.attributes.name = 'Mallory';
    (outcome.app_metadata.k as { list: number[] }).list.push(2);
    expect(actor.sub).to.equal('agent');
    expect(attributes.name).to.equal('Ada');
    expect(value.list).to.deep.equal([1]);
  });

  it('keeps a "__proto__" metadata key as data, never as a prototype', () => {
    const outcome = decideOutcome(
      recorded([byId, { type: 'setUserMetadata', key: '__proto__', value: { polluted: true } }]),
    );
    if (outcome.kind !== 'user') expect.fail('expected a user');
    expect(Object.getPrototypeOf(outcome.user_metadata)).to.equal(Object.prototype);
    expect(Object.keys(outcome.user_metadata)).to.deep.equal(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  describe('with an ApiRecorder', () => {
    it('fails closed when the action caught the throw of a second setUser', () => {
      const recorder = new ApiRecorder();
      const api = recorder.api();
      api.authentication.setUserById('auth0|1');
      try {
        api.authentication.setUserById('auth0|2');
      } catch {
        // The action swallows the error; the exchange must still fail.
      }
      expect(decideOutcome(recorder)).to.deep.equal({
        kind: 'fail',
        cause:
          'api.authentication.setUserById: a user was already set by api.authentication.setUserById; an action may set the user only once',
      });
    });

    it('fails closed when the action caught the throw of a too deep setActor', () => {
      const recorder = new ApiRecorder();
      const api = recorder.api();
      api.authentication.setUserById('auth0|1');
      try {
        api.authentication.setActor({
          sub: 'a',
          act: {
            sub: 'b',
            act: { sub: 'c', act: { sub: 'd', act: { sub: 'e', act: { sub: 'f' } } } },
          },
        });
      } catch {
        // Swallowed: issuing a token without the intended actor would fail open.
      }
      expect(decideOutcome(recorder)).to.deep.equal({
        kind: 'fail',
        cause: 'api.authentication.setActor: actor.act.act.act.act.act exceeds 5 levels',
      });
    });

    it('still denies when a refused call follows a deny', () => {
      const recorder = new ApiRecorder();
      const api = recorder.api();
      api.access.deny('invalid_request', 'bad audience');
      expect(() => api.authentication.setOrganization('')).to.throw();
      expect(decideOutcome(recorder)).to.deep.equal({
        kind: 'deny',
        code: 'invalid_request',
        reason: 'bad audience',
      });
    });
  });
});
