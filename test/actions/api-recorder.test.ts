import { expect } from 'chai';
import {
  ActionApiError,
  ApiRecorder,
  MAX_CONSOLE_LINES,
  MAX_METADATA_BYTES,
} from '../../lib/actions/api-recorder.js';
import type { ActionCommand } from '../../lib/actions/types.js';
import type { ActionApiMethod } from '../../lib/sandbox/action-runner.js';

const text = (length: number, char = 'a'): string => char.repeat(length);
const none = { creationBehavior: 'none', updateBehavior: 'none' } as const;

/** `{ sub: 'level1', act: { sub: 'level2', ... } }` with `levels` actors. */
function actorChain(levels: number): Record<string, unknown> {
  let actor: Record<string, unknown> = { sub: `level${levels}` };
  for (let level = levels - 1; level >= 1; level--) actor = { sub: `level${level}`, act: actor };
  return actor;
}

function customProperties(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`p${index}`, 'v']));
}

/** `{ a: { a: ... { a: 1 } } }`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

class Attributes {
  user_id = 'u1';
}

interface AcceptedCase {
  name: string;
  method: ActionApiMethod;
  args: unknown[];
  command: ActionCommand;
}

interface RefusedCase {
  name: string;
  method: ActionApiMethod;
  args: unknown[];
  message: string;
}

const fullAttributes = {
  user_id: text(255),
  email: 'ada@example.com',
  email_verified: true,
  username: text(128),
  phone_number: '+123456789012345',
  phone_verified: false,
  name: text(300),
  given_name: text(150),
  family_name: text(150),
  nickname: text(300),
  picture: 'https://cdn.example.com/ada.png',
  verify_email: false,
};

const longestEmail = `${text(64)}@${text(185, 'b')}.com`;

const accepted: AcceptedCase[] = [
  {
    name: 'deny with short code and reason',
    method: 'access.deny',
    args: ['c', 'r'],
    command: { type: 'deny', code: 'c', reason: 'r' },
  },
  {
    name: 'deny at the limits (1024 / 4096)',
    method: 'access.deny',
    args: [text(1024), text(4096)],
    command: { type: 'deny', code: text(1024), reason: text(4096) },
  },
  {
    name: 'deny counts characters, not UTF-16 units (1024 emoji)',
    method: 'access.deny',
    args: [text(1024, '😀'), 'r'],
    command: { type: 'deny', code: text(1024, '😀'), reason: 'r' },
  },
  {
    name: 'rejectInvalidSubjectToken at 4096',
    method: 'access.rejectInvalidSubjectToken',
    args: [text(4096)],
    command: { type: 'rejectInvalidSubjectToken', reason: text(4096) },
  },
  {
    name: 'setUserById at 512',
    method: 'authentication.setUserById',
    args: [text(512)],
    command: { type: 'setUserById', user_id: text(512) },
  },
  {
    name: 'setUserByConnection with only user_id',
    method: 'authentication.setUserByConnection',
    args: ['db', { user_id: 'u1' }, none],
    command: {
      type: 'setUserByConnection',
      connection: 'db',
      attributes: { user_id: 'u1' },
      options: none,
    },
  },
  {
    name: 'setUserByConnection with every attribute at its limit',
    method: 'authentication.setUserByConnection',
    args: [
      text(512),
      fullAttributes,
      { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
    ],
    command: {
      type: 'setUserByConnection',
      connection: text(512),
      attributes: fullAttributes,
      options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
    },
  },
  {
    name: 'setUserByConnection with a 254-character email and an http picture',
    method: 'authentication.setUserByConnection',
    args: ['db', { user_id: 'u1', email: longestEmail, picture: 'http://example.com/p' }, none],
    command: {
      type: 'setUserByConnection',
      connection: 'db',
      attributes: { user_id: 'u1', email: longestEmail, picture: 'http://example.com/p' },
      options: none,
    },
  },
  {
    name: 'setUserByConnection drops attributes and options set to undefined',
    method: 'authentication.setUserByConnection',
    args: ['db', { user_id: 'u1', name: undefined }, { ...none, extra: undefined }],
    command: {
      type: 'setUserByConnection',
      connection: 'db',
      attributes: { user_id: 'u1' },
      options: none,
    },
  },
  {
    name: 'setActor with only sub',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }],
    command: { type: 'setActor', actor: { sub: 'agent' } },
  },
  {
    name: 'setActor with 5 levels',
    method: 'authentication.setActor',
    args: [actorChain(5)],
    command: { type: 'setActor', actor: actorChain(5) as never },
  },
  {
    name: 'setActor with 5 custom properties of every allowed type',
    method: 'authentication.setActor',
    args: [{ sub: 'a', s: 'x', n: 1.5, z: 0, t: true, f: false, gone: undefined }],
    command: { type: 'setActor', actor: { sub: 'a', s: 'x', n: 1.5, z: 0, t: true, f: false } },
  },
  {
    name: 'setActor with 5 custom properties on a nested level',
    method: 'authentication.setActor',
    args: [{ sub: 'a', act: { sub: 'b', ...customProperties(5) } }],
    command: { type: 'setActor', actor: { sub: 'a', act: { sub: 'b', ...customProperties(5) } } },
  },
  {
    name: 'setActor with the may_act of the subject token',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }, { may_act: { sub: 'agent', iss: 'https://idp.example.com/' } }],
    command: {
      type: 'setActor',
      actor: { sub: 'agent' },
      may_act: { sub: 'agent', iss: 'https://idp.example.com/' },
    },
  },
  {
    name: 'setActor with options but no may_act',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }, { may_act: undefined }],
    command: { type: 'setActor', actor: { sub: 'agent' } },
  },
  {
    name: 'setOrganization by id',
    method: 'authentication.setOrganization',
    args: ['org_abcdefghijklmnop'],
    command: { type: 'setOrganization', organization: 'org_abcdefghijklmnop' },
  },
  {
    name: 'setAppMetadata with JSON data',
    method: 'user.setAppMetadata',
    args: ['plan', { tier: 'gold', seats: [1, 'two', null, true], note: undefined }],
    command: {
      type: 'setAppMetadata',
      key: 'plan',
      value: { tier: 'gold', seats: [1, 'two', null, true] },
    },
  },
  {
    name: 'setAppMetadata with null (removal) and a 255-character key',
    method: 'user.setAppMetadata',
    args: [text(255), null],
    command: { type: 'setAppMetadata', key: text(255), value: null },
  },
  {
    name: 'setUserMetadata with a string',
    method: 'user.setUserMetadata',
    args: ['lang', 'fr'],
    command: { type: 'setUserMetadata', key: 'lang', value: 'fr' },
  },
  {
    name: 'setUserMetadata with 64 levels of nesting (the limit)',
    method: 'user.setUserMetadata',
    args: ['deep', nested(64)],
    command: { type: 'setUserMetadata', key: 'deep', value: nested(64) },
  },
];

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
const cyclicActor: Record<string, unknown> = { sub: 'a' };
cyclicActor.act = cyclicActor;
const withGetter = Object.defineProperty({}, 'g', { get: () => 1, enumerable: true });
const withSymbolKey = { [Symbol('s')]: 1 };
const withProtoKey = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
const twentyFive = Object.fromEntries([
  ['user_id', 'u1'],
  ...Array.from({ length: 24 }, (_, index) => [`x${index}`, 'v']),
]) as Record<string, unknown>;
const twentyFour = Object.fromEntries([
  ['user_id', 'u1'],
  ...Array.from({ length: 23 }, (_, index) => [`x${index}`, 'v']),
]) as Record<string, unknown>;
const SUPPORTED =
  'user_id, email, email_verified, username, phone_number, phone_verified, name, given_name, family_name, nickname, picture, verify_email';

const connectionCase = (name: string, attributes: unknown, message: string): RefusedCase => ({
  name,
  method: 'authentication.setUserByConnection',
  args: ['db', attributes, none],
  message: `api.authentication.setUserByConnection: ${message}`,
});
const optionsCase = (name: string, options: unknown, message: string): RefusedCase => ({
  name,
  method: 'authentication.setUserByConnection',
  args: ['db', { user_id: 'u1' }, options],
  message: `api.authentication.setUserByConnection: ${message}`,
});
const actorCase = (name: string, actor: unknown, message: string): RefusedCase => ({
  name,
  method: 'authentication.setActor',
  args: [actor],
  message: `api.authentication.setActor: ${message}`,
});
const metadataCase = (name: string, args: unknown[], message: string): RefusedCase => ({
  name,
  method: 'user.setAppMetadata',
  args,
  message: `api.user.setAppMetadata: ${message}`,
});

const refused: RefusedCase[] = [
  {
    name: 'setActor with options that are not an object',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }, 'agent'],
    message: 'api.authentication.setActor: options must be an object, got a string',
  },
  {
    name: 'setActor with an unknown option',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }, { may_act: { sub: 'agent' }, strict: true }],
    message: 'api.authentication.setActor: options.strict is not a setActor option',
  },
  {
    name: 'setActor with a may_act that is not an object',
    method: 'authentication.setActor',
    args: [{ sub: 'agent' }, { may_act: 'agent' }],
    message:
      'api.authentication.setActor: options.may_act must be an object (the may_act claim), got a string',
  },
  {
    name: 'deny empty code',
    method: 'access.deny',
    args: ['', 'r'],
    message: 'api.access.deny: code must not be empty',
  },
  {
    name: 'deny code of 1025',
    method: 'access.deny',
    args: [text(1025), 'r'],
    message: 'api.access.deny: code exceeds 1024 characters',
  },
  {
    name: 'deny empty reason',
    method: 'access.deny',
    args: ['c', ''],
    message: 'api.access.deny: reason must not be empty',
  },
  {
    name: 'deny reason of 4097',
    method: 'access.deny',
    args: ['c', text(4097)],
    message: 'api.access.deny: reason exceeds 4096 characters',
  },
  {
    name: 'deny code not a string',
    method: 'access.deny',
    args: [42, 'r'],
    message: 'api.access.deny: code must be a string, got a number',
  },
  {
    name: 'deny without reason',
    method: 'access.deny',
    args: ['c'],
    message: 'api.access.deny: reason must be a string, got undefined',
  },
  {
    name: 'reject empty reason',
    method: 'access.rejectInvalidSubjectToken',
    args: [''],
    message: 'api.access.rejectInvalidSubjectToken: reason must not be empty',
  },
  {
    name: 'reject reason of 4097',
    method: 'access.rejectInvalidSubjectToken',
    args: [text(4097)],
    message: 'api.access.rejectInvalidSubjectToken: reason exceeds 4096 characters',
  },
  {
    name: 'reject reason null',
    method: 'access.rejectInvalidSubjectToken',
    args: [null],
    message: 'api.access.rejectInvalidSubjectToken: reason must be a string, got null',
  },
  {
    name: 'setUserById empty',
    method: 'authentication.setUserById',
    args: [''],
    message: 'api.authentication.setUserById: user_id must not be empty',
  },
  {
    name: 'setUserById of 513',
    method: 'authentication.setUserById',
    args: [text(513)],
    message: 'api.authentication.setUserById: user_id exceeds 512 characters',
  },
  {
    name: 'setUserById with an object',
    method: 'authentication.setUserById',
    args: [{}],
    message: 'api.authentication.setUserById: user_id must be a string, got an object',
  },
  {
    name: 'setUserByConnection empty connection',
    method: 'authentication.setUserByConnection',
    args: ['', { user_id: 'u1' }, none],
    message: 'api.authentication.setUserByConnection: connection must not be empty',
  },
  {
    name: 'setUserByConnection connection of 513',
    method: 'authentication.setUserByConnection',
    args: [text(513), { user_id: 'u1' }, none],
    message: 'api.authentication.setUserByConnection: connection exceeds 512 characters',
  },
  connectionCase(
    'attributes a string',
    'u1',
    'attributes must be an object with a user_id, got a string',
  ),
  connectionCase('attributes null', null, 'attributes must be an object with a user_id, got null'),
  connectionCase(
    'attributes an array',
    [],
    'attributes must be an object with a user_id, got an array',
  ),
  connectionCase(
    'attributes a class instance',
    new Attributes(),
    'attributes is an instance of Attributes, not plain data',
  ),
  connectionCase(
    'no user_id',
    { email: 'a@example.com' },
    'attributes.user_id must be a string, got undefined',
  ),
  connectionCase(
    'user_id of 256',
    { user_id: text(256) },
    'attributes.user_id exceeds 255 characters',
  ),
  connectionCase('empty user_id', { user_id: '' }, 'attributes.user_id must not be empty'),
  connectionCase(
    'username of 129',
    { user_id: 'u', username: text(129) },
    'attributes.username exceeds 128 characters',
  ),
  connectionCase(
    'name of 301',
    { user_id: 'u', name: text(301) },
    'attributes.name exceeds 300 characters',
  ),
  connectionCase(
    'nickname of 301',
    { user_id: 'u', nickname: text(301) },
    'attributes.nickname exceeds 300 characters',
  ),
  connectionCase(
    'given_name of 151',
    { user_id: 'u', given_name: text(151) },
    'attributes.given_name exceeds 150 characters',
  ),
  connectionCase(
    'family_name of 151',
    { user_id: 'u', family_name: text(151) },
    'attributes.family_name exceeds 150 characters',
  ),
  connectionCase('empty name', { user_id: 'u', name: '' }, 'attributes.name must not be empty'),
  connectionCase(
    'email without @',
    { user_id: 'u', email: 'ada' },
    'attributes.email is not a plausible email address',
  ),
  connectionCase(
    'email without a dot',
    { user_id: 'u', email: 'ada@host' },
    'attributes.email is not a plausible email address',
  ),
  connectionCase(
    'email with a space',
    { user_id: 'u', email: 'a da@x.com' },
    'attributes.email is not a plausible email address',
  ),
  connectionCase(
    'email of 255',
    { user_id: 'u', email: `b${longestEmail}` },
    'attributes.email exceeds 254 characters',
  ),
  connectionCase(
    'phone with 16 digits',
    { user_id: 'u', phone_number: '+1234567890123456' },
    'attributes.phone_number must be an E.164 phone number such as +14155550100',
  ),
  connectionCase(
    'phone without +',
    { user_id: 'u', phone_number: '14155550100' },
    'attributes.phone_number must be an E.164 phone number such as +14155550100',
  ),
  connectionCase(
    'picture ftp',
    { user_id: 'u', picture: 'ftp://example.com/p.png' },
    'attributes.picture must be an absolute http(s) URL without credentials',
  ),
  connectionCase(
    'picture relative',
    { user_id: 'u', picture: '/p.png' },
    'attributes.picture must be an absolute http(s) URL without credentials',
  ),
  connectionCase(
    'picture with credentials',
    { user_id: 'u', picture: 'https://me:pw@example.com/p.png' },
    'attributes.picture must be an absolute http(s) URL without credentials',
  ),
  connectionCase(
    'email_verified a string',
    { user_id: 'u', email_verified: 'true' },
    'attributes.email_verified must be a boolean, got a string',
  ),
  connectionCase(
    'phone_verified null',
    { user_id: 'u', phone_verified: null },
    'attributes.phone_verified must be a boolean, got null',
  ),
  connectionCase(
    'verify_email a number',
    { user_id: 'u', verify_email: 1 },
    'attributes.verify_email must be a boolean, got a number',
  ),
  connectionCase(
    'unknown attribute',
    { user_id: 'u', app_metadata: {} },
    `attributes.app_metadata is not a supported attribute (supported: ${SUPPORTED})`,
  ),
  connectionCase(
    '24 properties pass the count (and fail on the first unknown name)',
    twentyFour,
    `attributes.x0 is not a supported attribute (supported: ${SUPPORTED})`,
  ),
  connectionCase(
    '25 properties',
    twentyFive,
    'attributes has 25 properties; at most 24 are allowed',
  ),
  connectionCase(
    'a Date attribute',
    { user_id: 'u', name: new Date(0) },
    'attributes.name is an instance of Date, not plain data',
  ),
  optionsCase(
    'options missing',
    undefined,
    'options must be an object with creationBehavior and updateBehavior, got undefined',
  ),
  optionsCase(
    'updateBehavior missing',
    { creationBehavior: 'none' },
    'options.updateBehavior must be "replace" or "none", got undefined',
  ),
  optionsCase(
    'creationBehavior unknown',
    { creationBehavior: 'create', updateBehavior: 'none' },
    'options.creationBehavior must be "create_if_not_exists" or "none", got "create"',
  ),
  optionsCase(
    'updateBehavior not a string',
    { creationBehavior: 'none', updateBehavior: true },
    'options.updateBehavior must be "replace" or "none", got a boolean',
  ),
  optionsCase(
    'extra option',
    { ...none, mode: 'x' },
    'options.mode is not a supported option (supported: creationBehavior, updateBehavior)',
  ),
  actorCase('6 levels', actorChain(6), 'actor.act.act.act.act.act exceeds 5 levels'),
  actorCase(
    '6 custom properties',
    { sub: 'a', ...customProperties(6) },
    'actor has 6 custom properties; at most 5 are allowed',
  ),
  actorCase(
    '6 custom properties on level 2',
    { sub: 'a', act: { sub: 'b', ...customProperties(6) } },
    'actor.act has 6 custom properties; at most 5 are allowed',
  ),
  actorCase('no sub', { role: 'x' }, 'actor.sub must be a string, got undefined'),
  actorCase('empty sub', { sub: '' }, 'actor.sub must not be empty'),
  actorCase(
    'no sub on level 3',
    { sub: 'a', act: { sub: 'b', act: {} } },
    'actor.act.act.sub must be a string, got undefined',
  ),
  actorCase('sub a number', { sub: 7 }, 'actor.sub must be a string, got a number'),
  actorCase(
    'act a string',
    { sub: 'a', act: 'b' },
    'actor.act must be an object with a sub, got a string',
  ),
  actorCase(
    'act null',
    { sub: 'a', act: null },
    'actor.act must be an object with a sub, got null',
  ),
  actorCase('actor a string', 'agent', 'actor must be an object with a sub, got a string'),
  actorCase(
    'custom property an object',
    { sub: 'a', role: { x: 1 } },
    'actor.role must be a string, a finite number or a boolean, got an object',
  ),
  actorCase(
    'custom property an array',
    { sub: 'a', roles: [] },
    'actor.roles must be a string, a finite number or a boolean, got an array',
  ),
  actorCase(
    'custom property null',
    { sub: 'a', role: null },
    'actor.role must be a string, a finite number or a boolean, got null',
  ),
  actorCase(
    'custom property NaN',
    { sub: 'a', n: Number.NaN },
    'actor.n is NaN, which is not JSON data',
  ),
  actorCase(
    'custom property a function',
    { sub: 'a', f: () => 1 },
    'actor.f is a function, not plain data',
  ),
  actorCase(
    'a cycle through act',
    cyclicActor,
    'actor.act refers back to actor (a cycle), not plain data',
  ),
  {
    name: 'setOrganization empty',
    method: 'authentication.setOrganization',
    args: [''],
    message: 'api.authentication.setOrganization: organization must not be empty',
  },
  {
    name: 'setOrganization of 51',
    method: 'authentication.setOrganization',
    args: [text(51)],
    message: 'api.authentication.setOrganization: organization exceeds 50 characters',
  },
  metadataCase('empty key', ['', 1], 'key must not be empty'),
  metadataCase('key of 256', [text(256), 1], 'key exceeds 255 characters'),
  metadataCase('key a number', [1, 1], 'key must be a string, got a number'),
  metadataCase('key __proto__', ['__proto__', {}], 'key "__proto__" is not allowed'),
  metadataCase(
    'value undefined',
    ['k'],
    'value is undefined, which is not JSON data (null removes the key)',
  ),
  metadataCase('value a function', ['k', () => 1], 'value is a function, not plain data'),
  metadataCase('nested function', ['k', { f: () => 1 }], 'value.f is a function, not plain data'),
  metadataCase(
    'odd key path',
    ['k', { 'a b': () => 1 }],
    'value["a b"] is a function, not plain data',
  ),
  metadataCase('nested symbol', ['k', { s: Symbol('s') }], 'value.s is a symbol, not plain data'),
  metadataCase('bigint', ['k', [1n]], 'value[0] is a bigint, not plain data'),
  metadataCase(
    'Infinity',
    ['k', { n: Number.POSITIVE_INFINITY }],
    'value.n is Infinity, which is not JSON data',
  ),
  metadataCase('a Map', ['k', new Map()], 'value is an instance of Map, not plain data'),
  metadataCase(
    'a nested Date',
    ['k', { when: new Date(0) }],
    'value.when is an instance of Date, not plain data',
  ),
  metadataCase(
    'a cycle',
    ['k', cyclic],
    'value.self refers back to value (a cycle), not plain data',
  ),
  metadataCase('an array hole', ['k', sparse], 'value[1] is undefined, which is not JSON data'),
  metadataCase(
    'undefined in an array',
    ['k', [undefined]],
    'value[0] is undefined, which is not JSON data',
  ),
  metadataCase('a getter', ['k', withGetter], 'value.g is a getter, not plain data'),
  metadataCase('a symbol key', ['k', withSymbolKey], 'value has a symbol key, not plain data'),
  metadataCase(
    'a nested __proto__ key',
    ['k', withProtoKey],
    'value.__proto__ is not an allowed key',
  ),
  metadataCase('a Proxy', ['k', new Proxy({}, {})], 'value is a Proxy, not plain data'),
  metadataCase(
    '65 levels of nesting',
    ['k', nested(65)],
    `value${'.a'.repeat(64)} is nested deeper than 64 levels`,
  ),
  {
    name: 'setUserMetadata empty key',
    method: 'user.setUserMetadata',
    args: ['', 1],
    message: 'api.user.setUserMetadata: key must not be empty',
  },
  {
    name: 'an unknown method',
    method: 'cache.get' as ActionApiMethod,
    args: ['k'],
    message: 'api.cache.get: not a Custom Token Exchange api method',
  },
];

describe('ApiRecorder', () => {
  describe('accepted calls', () => {
    for (const { name, method, args, command } of accepted) {
      it(`${method}: ${name}`, () => {
        const recorder = new ApiRecorder();
        recorder.call(method, args);
        expect(recorder.commands).to.deep.equal([command]);
        expect(recorder.violations).to.deep.equal([]);
      });
    }
  });

  describe('refused calls', () => {
    for (const { name, method, args, message } of refused) {
      it(`${method}: ${name}`, () => {
        const recorder = new ApiRecorder();
        expect(() => recorder.call(method, args))
          .to.throw(ActionApiError)
          .with.property('message', message);
        expect(recorder.commands).to.deep.equal([]);
        expect(recorder.violations).to.deep.equal([message]);
      });
    }
  });

  it('throws an ActionApiError carrying the method and the problem', () => {
    const recorder = new ApiRecorder();
    let thrown: unknown;
    try {
      recorder.call('access.deny', ['', 'r']);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(ActionApiError).and.instanceOf(Error);
    const error = thrown as ActionApiError;
    expect(error.name).to.equal('ActionApiError');
    expect(error.method).to.equal('access.deny');
    expect(error.problem).to.equal('code must not be empty');
  });

  describe('setting the user once', () => {
    const cases: Array<[ActionApiMethod, unknown[], ActionApiMethod, unknown[]]> = [
      ['authentication.setUserById', ['a'], 'authentication.setUserById', ['b']],
      [
        'authentication.setUserById',
        ['a'],
        'authentication.setUserByConnection',
        ['db', { user_id: 'b' }, none],
      ],
      [
        'authentication.setUserByConnection',
        ['db', { user_id: 'a' }, none],
        'authentication.setUserById',
        ['b'],
      ],
      // The second call is refused before its arguments are looked at.
      [
        'authentication.setUserByConnection',
        ['db', { user_id: 'a' }, none],
        'authentication.setUserByConnection',
        [],
      ],
    ];
    for (const [first, firstArgs, second, secondArgs] of cases) {
      it(`refuses ${second} after ${first}, and remembers it even when the action catches it`, () => {
        const recorder = new ApiRecorder();
        recorder.call(first, firstArgs);
        const message = `api.${second}: a user was already set by api.${first}; an action may set the user only once`;
        try {
          recorder.call(second, secondArgs);
          expect.fail('the second call must throw');
        } catch (err) {
          expect(err).to.be.instanceOf(ActionApiError).with.property('message', message);
        }
        expect(recorder.commands).to.have.length(1);
        expect(recorder.commands[0]?.type).to.equal(first.split('.')[1]);
        expect(recorder.violations).to.deep.equal([message]);
      });
    }

    it('lets a valid setUser… follow a refused one (which stays a violation)', () => {
      const recorder = new ApiRecorder();
      expect(() => recorder.call('authentication.setUserById', [''])).to.throw(ActionApiError);
      recorder.call('authentication.setUserById', ['u1']);
      expect(recorder.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u1' }]);
      expect(recorder.violations).to.deep.equal([
        'api.authentication.setUserById: user_id must not be empty',
      ]);
    });
  });

  describe('metadata size', () => {
    // Bytes counted: UTF-8 of the key plus UTF-8 of the JSON value.
    const fill = (bytes: number): string => text(bytes - 1 - 2); // key "k" (1) + quotes (2)

    it(`accepts exactly ${MAX_METADATA_BYTES} bytes in one call`, () => {
      const recorder = new ApiRecorder();
      recorder.call('user.setAppMetadata', ['k', fill(MAX_METADATA_BYTES)]);
      expect(recorder.commands).to.have.length(1);
    });

    it('refuses one byte more', () => {
      const recorder = new ApiRecorder();
      expect(() =>
        recorder.call('user.setAppMetadata', ['k', fill(MAX_METADATA_BYTES + 1)]),
      ).to.throw(
        ActionApiError,
        /^api\.user\.setAppMetadata: metadata set in one execution exceeds 32768 bytes$/,
      );
    });

    it('counts multi-byte characters as bytes', () => {
      const recorder = new ApiRecorder();
      // MAX_METADATA_BYTES - 3 characters, one of them the 2-byte é: one byte too many.
      const value = `${text(MAX_METADATA_BYTES - 4)}é`;
      expect(() => recorder.call('user.setAppMetadata', ['k', value])).to.throw(
        ActionApiError,
        'api.user.setAppMetadata: metadata set in one execution exceeds 32768 bytes',
      );
    });

    it('counts app and user metadata together, across calls', () => {
      const recorder = new ApiRecorder();
      recorder.call('user.setAppMetadata', ['k', fill(MAX_METADATA_BYTES / 2)]);
      recorder.call('user.setUserMetadata', ['k', fill(MAX_METADATA_BYTES / 2)]);
      expect(() => recorder.call('user.setUserMetadata', ['k', null])).to.throw(
        ActionApiError,
        'api.user.setUserMetadata: metadata set in one execution exceeds 32768 bytes',
      );
      expect(recorder.commands).to.have.length(2);
    });
  });

  describe('copies', () => {
    it('records copies: changing the arguments afterwards changes nothing', () => {
      const recorder = new ApiRecorder();
      const attributes = { user_id: 'u1', name: 'Ada' };
      const options = { creationBehavior: 'none', updateBehavior: 'replace' };
      const actor = { sub: 'agent', act: { sub: 'origin' } };
      const value = { roles: ['admin'], nested: { a: 1 } };
      recorder.call('authentication.setUserByConnection', ['db', attributes, options]);
      recorder.call('authentication.setActor', [actor]);
      recorder.call('user.setAppMetadata', ['k', value]);

      attributes.name = 'Mallory';
      options.updateBehavior = 'none';
      actor.act.sub = 'mallory';
      value.roles.push('root');
      value.nested.a = 2;

      expect(recorder.commands).to.deep.equal([
        {
          type: 'setUserByConnection',
          connection: 'db',
          attributes: { user_id: 'u1', name: 'Ada' },
          options: { creationBehavior: 'none', updateBehavior: 'replace' },
        },
        { type: 'setActor', actor: { sub: 'agent', act: { sub: 'origin' } } },
        { type: 'setAppMetadata', key: 'k', value: { roles: ['admin'], nested: { a: 1 } } },
      ]);
    });

    it('copies a value shared twice (no cycle) into two independent copies', () => {
      const recorder = new ApiRecorder();
      const shared = { a: 1 };
      recorder.call('user.setAppMetadata', ['k', { x: shared, y: shared }]);
      const command = recorder.commands[0] as { value: { x: object; y: object } };
      expect(command.value).to.deep.equal({ x: { a: 1 }, y: { a: 1 } });
      expect(command.value.x).to.not.equal(shared);
    });
  });

  describe('api()', () => {
    it('forwards every method to call, in call order', () => {
      const recorder = new ApiRecorder();
      const api = recorder.api();
      api.access.deny('c', 'r');
      api.access.rejectInvalidSubjectToken('bad token');
      api.authentication.setUserById('u1');
      api.authentication.setActor({ sub: 'agent' });
      api.user.setAppMetadata('a', 1);
      api.user.setUserMetadata('b', 2);
      expect(() => api.authentication.setOrganization('')).to.throw(
        ActionApiError,
        'api.authentication.setOrganization: organization must not be empty',
      );
      expect(() =>
        api.authentication.setUserByConnection('db', { user_id: 'u2' }, { ...none }),
      ).to.throw(ActionApiError, 'a user was already set by api.authentication.setUserById');
      expect(recorder.commands).to.deep.equal([
        { type: 'deny', code: 'c', reason: 'r' },
        { type: 'rejectInvalidSubjectToken', reason: 'bad token' },
        { type: 'setUserById', user_id: 'u1' },
        { type: 'setActor', actor: { sub: 'agent' } },
        { type: 'setAppMetadata', key: 'a', value: 1 },
        { type: 'setUserMetadata', key: 'b', value: 2 },
      ]);
      expect(recorder.violations).to.have.length(2);
    });

    it('is frozen and the same object every time', () => {
      const recorder = new ApiRecorder();
      const api = recorder.api();
      expect(recorder.api()).to.equal(api);
      expect(Object.isFrozen(api)).to.equal(true);
      expect(Object.isFrozen(api.authentication)).to.equal(true);
      expect(() => {
        (api.access as { deny: unknown }).deny = () => undefined;
      }).to.throw(TypeError);
    });
  });

  describe('console', () => {
    it('formats arguments like console.log, joined by spaces', () => {
      const recorder = new ApiRecorder();
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      recorder.console('log', [
        'a',
        1,
        true,
        null,
        undefined,
        { x: 1 },
        [1, 'b'],
        new TypeError('boom'),
      ]);
      recorder.console('error', [cycle, Symbol('s'), 10n]);
      recorder.console('info', []);
      expect(recorder.consoleLines).to.deep.equal([
        { level: 'log', message: 'a 1 true null undefined {"x":1} [1,"b"] TypeError: boom' },
        { level: 'error', message: '[object Object] Symbol(s) 10' },
        { level: 'info', message: '' },
      ]);
    });

    it('redacts before cutting, so a token across the cut leaves no fragment', () => {
      const recorder = new ApiRecorder({
        redact: (line) => line.replaceAll('SECRET-TOKEN-VALUE', '[redacted]'),
      });
      recorder.console('log', [`${text(250, 'x')}SECRET-TOKEN-VALUE`]);
      expect(recorder.consoleLines).to.deep.equal([
        { level: 'log', message: `${text(250, 'x')}[redac` },
      ]);
    });

    it('cuts each line to 256 characters, never inside a surrogate pair', () => {
      const recorder = new ApiRecorder();
      recorder.console('log', [text(256)]);
      recorder.console('log', [text(257)]);
      recorder.console('warn', [text(300, '😀')]);
      expect(recorder.consoleLines).to.deep.equal([
        { level: 'log', message: text(256) },
        { level: 'log', message: text(256) },
        { level: 'warn', message: text(256, '😀') },
      ]);
    });

    it(`keeps ${MAX_CONSOLE_LINES} lines and says how many more were dropped`, () => {
      const recorder = new ApiRecorder();
      for (let index = 0; index < MAX_CONSOLE_LINES; index++) recorder.console('log', [index]);
      expect(recorder.consoleLines).to.have.length(MAX_CONSOLE_LINES);
      for (let index = 0; index < 5; index++) recorder.console('log', ['more']);
      const lines = recorder.consoleLines;
      expect(lines).to.have.length(MAX_CONSOLE_LINES + 1);
      expect(lines[MAX_CONSOLE_LINES - 1]).to.deep.equal({ level: 'log', message: '99' });
      expect(lines[MAX_CONSOLE_LINES]).to.deep.equal({
        level: 'warn',
        message: '5 more console lines dropped (at most 100 are kept)',
      });
    });

    it('drops a line whose redaction fails rather than keep it unredacted', () => {
      const recorder = new ApiRecorder({
        redact: () => {
          throw new Error('redactor down');
        },
      });
      recorder.console('log', ['token abc']);
      expect(recorder.consoleLines).to.deep.equal([
        { level: 'log', message: '[console line dropped: redaction failed]' },
      ]);
    });

    it('returns a copy of the lines', () => {
      const recorder = new ApiRecorder();
      recorder.console('log', ['one']);
      (recorder.consoleLines as unknown[]).push({ level: 'log', message: 'forged' });
      expect(recorder.consoleLines).to.deep.equal([{ level: 'log', message: 'one' }]);
    });
  });
});
