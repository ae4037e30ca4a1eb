import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';
import {
  CapabilityError,
  HostCapabilities,
  hostMatches,
  isAddressAllowed,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type {
  CapabilityName,
  CapabilityScope,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import { until } from '../../support/until.js';
import { rejection } from '../fixtures/capability-rejection.js';

describe('HostCapabilities: lifetime of calls', () => {
  let server: http.Server;
  let hostPort: string;
  let hits = 0;
  let token: string;
  const controllers: AbortController[] = [];

  const scope = (overrides: Partial<CapabilityScope> = {}): CapabilityScope => {
    const controller = new AbortController();
    controllers.push(controller);
    return {
      actionId: 'act_life',
      allowedHosts: [hostPort],
      allowedPrivateNetworks: ['127.0.0.1/32'],
      deadline: Date.now() + 5000,
      signal: controller.signal,
      ...overrides,
    };
  };
  /** A JWKS URL on a server that accepts the connection and never answers. */
  const hangingJwks = () => ({ kind: 'remote-jwks', url: `http://${hostPort}/jwks` });

  before(async () => {
    // Every request hangs: the server only counts.
    server = http.createServer(() => {
      hits += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { privateKey } = await generateKeyPair('ES256');
    token = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .sign(privateKey);
  });

  beforeEach(() => {
    hits = 0;
  });

  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('settles a jwtVerify whose JWKS never answers by the deadline', async () => {
    const host = new HostCapabilities({ fetchTimeoutMs: 60_000 });
    try {
      const deadline = Date.now() + 200;
      const err = await rejection(
        host.invoke(scope({ deadline }), 'jose.jwtVerify', [token, hangingJwks()]),
      );
      expect(err.toJSON()).to.deep.equal({
        name: 'CapabilityError',
        code: 'ERR_CAPABILITY_TIMEOUT',
        message: "jose.jwtVerify did not finish before the action's deadline",
      });
      expect(Date.now()).to.be.within(deadline - 5, deadline + 150);
      expect(hits).to.equal(1);
    } finally {
      host.close();
    }
  });

  it('rejects a call whose deadline has already passed without doing anything', async () => {
    const host = new HostCapabilities();
    try {
      const err = await rejection(
        host.invoke(scope({ deadline: Date.now() - 1 }), 'fetch', [`http://${hostPort}/x`]),
      );
      expect(err.code).to.equal('ERR_CAPABILITY_TIMEOUT');
      expect(hits).to.equal(0);
    } finally {
      host.close();
    }
  });

  it('revokes pending calls when the execution ends, and refuses every later call', async () => {
    const host = new HostCapabilities();
    try {
      const controller = new AbortController();
      const s = scope({ signal: controller.signal });
      const pending = [
        host.invoke(s, 'jose.jwtVerify', [token, hangingJwks()]),
        host.invoke(s, 'fetch', [`http://${hostPort}/slow`]),
      ];
      await until(() => hits === 2, 'both calls reach the server');
      controller.abort();
      for (const call of pending) {
        expect((await rejection(call)).toJSON()).to.include({ code: 'ERR_CAPABILITY_REVOKED' });
      }
      const names: Array<[CapabilityName, unknown[]]> = [
        ['jose.decodeJwt', [token]],
        ['jose.decodeProtectedHeader', [token]],
        ['jose.checkKey', [{ kind: 'secret', base64url: 'c2VjcmV0' }]],
        ['jose.jwtVerify', [token, { kind: 'secret', base64url: 'c2VjcmV0' }]],
        ['fetch', [`http://${hostPort}/later`]],
      ];
      for (const [name, args] of names) {
        const err = await rejection(host.invoke(s, name, args));
        expect(err.toJSON(), name).to.deep.equal({
          name: 'CapabilityError',
          code: 'ERR_CAPABILITY_REVOKED',
          message: `${name} cannot be used: the action's execution has ended`,
        });
      }
      expect(hits).to.equal(2);
    } finally {
      host.close();
    }
  });

  it('only revokes the calls of the execution that ended', async () => {
    const host = new HostCapabilities();
    try {
      const ended = new AbortController();
      const pending = host.invoke(scope({ signal: ended.signal }), 'fetch', [
        `http://${hostPort}/a`,
      ]);
      const other = scope({ deadline: Date.now() + 300 });
      const otherCall = host.invoke(other, 'fetch', [`http://${hostPort}/b`]);
      ended.abort();
      expect((await rejection(pending)).code).to.equal('ERR_CAPABILITY_REVOKED');
      expect((await rejection(otherCall)).code).to.equal('ERR_CAPABILITY_TIMEOUT');
      expect(
        await host
          .invoke(other, 'jose.decodeJwt', [token])
          .catch((err: CapabilityError) => err.code),
      ).to.equal('ERR_CAPABILITY_TIMEOUT');
    } finally {
      host.close();
    }
  });

  it('close() revokes pending calls and refuses later ones', async () => {
    const host = new HostCapabilities();
    const s = scope();
    const pending = host.invoke(s, 'fetch', [`http://${hostPort}/closing`]);
    await until(() => hits === 1, 'the call reaches the server');
    host.close();
    expect((await rejection(pending)).code).to.equal('ERR_CAPABILITY_REVOKED');
    expect((await rejection(host.invoke(s, 'jose.decodeJwt', [token]))).code).to.equal(
      'ERR_CAPABILITY_REVOKED',
    );
  });

  it('refuses unknown capabilities and malformed calls', async () => {
    const host = new HostCapabilities();
    try {
      const unknown = await rejection(host.invoke(scope(), 'process.exit' as CapabilityName, []));
      expect(unknown.toJSON()).to.deep.equal({
        name: 'CapabilityError',
        code: 'ERR_CAPABILITY_UNKNOWN',
        message: 'unknown capability "process.exit"',
      });
      expect(
        (await rejection(host.invoke(scope(), 'fetch', 'x' as unknown as unknown[]))).code,
      ).to.equal('ERR_INVALID_ARGUMENT');
      expect((await rejection(host.invoke(scope({ deadline: NaN }), 'fetch', []))).code).to.equal(
        'ERR_INVALID_ARGUMENT',
      );
      const options = await rejection(
        host.invoke(scope(), 'jose.jwtVerify', [
          token,
          { kind: 'secret', base64url: 'c2VjcmV0' },
          { issuer: 5 },
        ]),
      );
      expect(options.toJSON()).to.deep.equal({
        name: 'TypeError',
        code: 'ERR_INVALID_ARGUMENT',
        message: 'jwtVerify: options.issuer must be a string or an array of strings',
      });
    } finally {
      host.close();
    }
  });

  it('validates its options, naming the option', () => {
    expect(() => new HostCapabilities({ fetchTimeoutMs: -1 })).to.throw(
      TypeError,
      'HostCapabilities: options.fetchTimeoutMs must be a non-negative finite number',
    );
    expect(() => new HostCapabilities({ maxRedirects: 1.5 })).to.throw(
      TypeError,
      'options.maxRedirects',
    );
    expect(() => new HostCapabilities({ lookup: 'dns' as never })).to.throw(
      TypeError,
      'options.lookup',
    );
  });

  it('re-exports the pure policy helpers', () => {
    expect(isAddressAllowed('127.0.0.1', [])).to.equal(false);
    expect(hostMatches('https://idp.example.com/', ['*.example.com'])).to.equal(true);
    expect(hostMatches('https://example.com/', ['*.example.com'])).to.equal(false);
  });

  it('CapabilityError carries code, claim and reason into toJSON only when set', () => {
    const plain = new CapabilityError('ERR_X', 'message');
    expect(plain).to.be.instanceOf(Error);
    expect(plain.toJSON()).to.deep.equal({
      name: 'CapabilityError',
      code: 'ERR_X',
      message: 'message',
    });
    const claim = new CapabilityError('ERR_JWT_EXPIRED', 'm', {
      name: 'JWTExpired',
      claim: 'exp',
      reason: 'check_failed',
    });
    expect(JSON.parse(JSON.stringify(claim))).to.deep.equal({
      name: 'JWTExpired',
      code: 'ERR_JWT_EXPIRED',
      message: 'm',
      claim: 'exp',
      reason: 'check_failed',
    });
  });
});
