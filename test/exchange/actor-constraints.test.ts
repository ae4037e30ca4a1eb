import { expect } from 'chai';
import type { Actor } from '../../lib/index.js';
import {
  ACT_CHAIN_TOO_DEEP,
  mayActMismatch,
  mayActOfSubjectToken,
  withPriorActor,
} from '../../lib/exchange/actor-constraints.js';
import { InvalidRequest } from '../../lib/errors.js';

const jwt = (payload: unknown): string =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

describe('actor constraints', () => {
  describe('mayActMismatch', () => {
    it('accepts an actor holding every identifying member, ignoring exp, nbf, aud, iat', () => {
      const actor: Actor = { sub: 'agent', iss: 'https://idp/', role: 'bot' };
      expect(
        mayActMismatch(actor, { sub: 'agent', iss: 'https://idp/', exp: 1, aud: 'x' }),
      ).to.equal(undefined);
    });
    it('refuses a different value, a missing member, a may_act naming nobody or not an object', () => {
      const actor: Actor = { sub: 'agent' };
      expect(mayActMismatch(actor, { sub: 'other' })).to.equal(
        'may_act has sub "other", the actor "agent"',
      );
      expect(mayActMismatch(actor, { sub: 'agent', iss: 'i' })).to.equal(
        'may_act has iss "i", the actor has no iss',
      );
      expect(mayActMismatch(actor, { exp: 5 })).to.equal('may_act names no actor');
      expect(mayActMismatch(actor, ['agent'])).to.equal('may_act is not an object');
      expect(mayActMismatch(actor, null)).to.equal('may_act is not an object');
    });
    it('compares the current actor only, not the prior ones', () => {
      expect(mayActMismatch({ sub: 'b', act: { sub: 'a' } }, { sub: 'a' })).to.equal(
        'may_act has sub "a", the actor "b"',
      );
    });
  });

  describe('mayActOfSubjectToken', () => {
    it('reads the claim of a JWT, undefined for an opaque token or a JWT without it', () => {
      expect(mayActOfSubjectToken(jwt({ sub: 'u', may_act: { sub: 'a' } }))).to.deep.equal({
        sub: 'a',
      });
      expect(mayActOfSubjectToken(jwt({ sub: 'u' }))).to.equal(undefined);
      expect(mayActOfSubjectToken('opaque-token')).to.equal(undefined);
    });
    it('fails closed (null: names nobody) for a payload nested too deeply to read', () => {
      let deep: unknown = {};
      for (let i = 0; i < 100; i++) deep = { a: deep };
      expect(mayActOfSubjectToken(jwt({ sub: 'u', x: deep }))).to.equal(null);
    });
  });

  describe('withPriorActor', () => {
    const prior: Actor = { sub: 'first', act: { sub: 'zero' } };
    it('keeps the prior act when there is no new actor, and the actor when there is no prior', () => {
      expect(withPriorActor(undefined, prior)).to.equal(prior);
      expect(withPriorActor({ sub: 'x' }, undefined)).to.deep.equal({ sub: 'x' });
    });
    it('nests the prior chain as the earliest actors without changing the argument', () => {
      const actor: Actor = { sub: 'now', act: { sub: 'before' } };
      expect(withPriorActor(actor, prior)).to.deep.equal({
        sub: 'now',
        act: { sub: 'before', act: { sub: 'first', act: { sub: 'zero' } } },
      });
      expect(actor).to.deep.equal({ sub: 'now', act: { sub: 'before' } });
    });
    it('keeps a chain that already holds the prior one', () => {
      const actor: Actor = { sub: 'now', act: structuredClone(prior) };
      expect(withPriorActor(actor, prior)).to.equal(actor);
    });
    it('refuses more than 5 actors with Auth0 message', () => {
      const four: Actor = { sub: '4', act: { sub: '3', act: { sub: '2', act: { sub: '1' } } } };
      expect(withPriorActor({ sub: 'now' }, four)).to.deep.include({ sub: 'now' });
      expect(() => withPriorActor({ sub: 'now', act: { sub: 'x' } }, four))
        .to.throw(InvalidRequest)
        .with.property('description', ACT_CHAIN_TOO_DEEP);
    });
  });
});
