import { expect } from 'chai';

import type { Response } from 'supertest';
import type {
  CustomTokenExchangeEvent,
  CustomTokenExchangeHandler,
  Organization,
  PostExchangeEvent,
} from '../../lib/index.js';
import { ManagementError } from '../../lib/errors.js';
import { API, GRANT, SECRET, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  newestEntry as newest,
  postToken,
  verifyToken,
  expectIssued,
} from '../support/token-requests.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';
import { NO_STORE } from '../support/oauth-responses.js';
import { ALICE_ENTRY, SECTE } from '../support/log-entries.js';

const ORG_TYPE = 'urn:acme:org-token';
const USER_AGENT = 'cte-organization-tests/1.0';
const DB = 'Username-Password-Authentication';

/**
 * The action reads its orders from the subject token, `verb:arg[:org]`: `id:<user_id>` sets the
 * user by id, `conn:<connection>:<user>` by connection (created if missing); a third part is
 * passed to setOrganization. Every event's organization is recorded.
 */
const orgAction =
  (seen: Array<CustomTokenExchangeEvent['organization'] | null>): CustomTokenExchangeHandler =>
  async (event, api) => {
    seen.push(event.organization ?? null);
    const [verb, arg, third, fourth] = event.transaction.subject_token.split('|');
    if (verb === 'id') {
      api.authentication.setUserById(`auth0|${arg}`);
      if (third !== undefined) api.authentication.setOrganization(third);
    } else {
      api.authentication.setUserByConnection(
        arg!,
        { user_id: third!, email: `${third}@example.com` },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
      );
      if (fourth !== undefined) api.authentication.setOrganization(fourth);
    }
  };

interface Harness extends TestServer {
  org: Organization;
  other: Organization;
  profileId: string;
  actionId: string;
  seen: Array<CustomTokenExchangeEvent['organization'] | null>;
}

async function harness(allowNames = false): Promise<Harness> {
  const server = await testServer({
    organizations: { allowNameInAuthenticationApi: allowNames },
    clients: [
      {
        client_id: 'org-app',
        client_secret: SECRET,
        name: 'Org app',
        token_endpoint_auth_method: 'client_secret_post',
        organization_usage: 'allow',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'org-only',
        client_secret: SECRET,
        name: 'Org-only app',
        token_endpoint_auth_method: 'client_secret_post',
        organization_usage: 'require',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'no-org',
        client_secret: SECRET,
        name: 'No-org app',
        token_endpoint_auth_method: 'client_secret_post',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
  });
  const { cte } = server;
  const org = await cte.organizations.create({
    name: 'acme',
    display_name: 'Acme Inc.',
    metadata: { tier: 'gold' },
  });
  const other = await cte.organizations.create({ name: 'globex' });
  await cte.organizations.connections.set(org.id, { connection: DB });
  await cte.organizations.connections.set(org.id, {
    connection: 'acme-sso',
    assign_membership_on_login: true,
  });
  await cte.organizations.connections.set(other.id, { connection: DB });
  await cte.organizations.members.add(org.id, ['auth0|alice']);
  const seen: Harness['seen'] = [];
  const action = await cte.actions.create({ name: 'org-action', handler: orgAction(seen) });
  await cte.actions.deploy(action.id);
  const profile = await cte.profiles.create({
    name: 'Org tokens',
    subject_token_type: ORG_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  return { ...server, org, other, profileId: profile.id, actionId: action.id, seen };
}

function exchange(
  server: TestServer,
  subjectToken: string,
  extra: Record<string, string> = {},
  clientId = 'org-app',
): Promise<Response> {
  const body = {
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: ORG_TYPE,
    client_id: clientId,
    client_secret: SECRET,
    ...extra,
  };
  return postToken(server, body, { auth: '', userAgent: USER_AGENT }).then((res) => res);
}

async function claimsOf(server: TestServer, token: string, audience: string) {
  return (await verifyToken(server, token, audience)).payload;
}

/** A refusal: the exact answer and headers, and the fecte entry with its private cause. */
async function expectRefused(
  server: Harness,
  res: Response,
  status: number,
  body: { error: string; error_description: string },
  cause: string,
  { clientId = 'org-app', organizationId }: { clientId?: string; organizationId?: string } = {},
): Promise<void> {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers).to.include(NO_STORE);
  expect(res.body).to.deep.equal(body);
  const entry = await newest(server);
  expect(entry.type).to.equal('fecte');
  expect(entry.client_id).to.equal(clientId);
  expect(entry.organization_id).to.equal(organizationId);
  expect(entry.details).to.deep.include({ ...body, cause });
}

describe('organizations', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.cte.close()));
  });
  async function started(allowNames = false): Promise<Harness> {
    const server = await harness(allowNames);
    servers.push(server);
    return server;
  }

  it('the organization parameter by id: event.organization, org_id in both tokens, organization_id in secte', async () => {
    const server = await started();
    const res = await exchange(server, 'id|alice', {
      organization: server.org.id,
      scope: 'openid read:orders offline_access',
    });
    expectIssued(res, {
      scope: 'openid read:orders',
      id_token: res.body.id_token,
    });
    expect(server.seen).to.deep.equal([
      { id: server.org.id, name: 'acme', display_name: 'Acme Inc.', metadata: { tier: 'gold' } },
    ]);
    const access = await claimsOf(server, res.body.access_token, API);
    expect(access.org_id).to.equal(server.org.id);
    expect(access).not.to.have.property('org_name');
    const id = await claimsOf(server, res.body.id_token, 'org-app');
    expect(id.org_id).to.equal(server.org.id);
    const entry = await newest(server);
    expect(entry).to.deep.equal({
      log_id: entry.log_id,
      date: entry.date,
      ...SECTE,
      client_id: 'org-app',
      client_name: 'Org app',
      ip: entry.ip,
      user_agent: USER_AGENT,
      hostname: '127.0.0.1',
      audience: API,
      scope: 'openid read:orders',
      ...ALICE_ENTRY,
      organization_id: server.org.id,
      details: {
        subject_token_type: ORG_TYPE,
        profile_id: server.profileId,
        action_id: server.actionId,
        access_token_jti: access.jti,
      },
    });
  });

  it('names stand for ids, and tokens carry org_name, only with allowNameInAuthenticationApi', async () => {
    const named = await started(true);
    const res = await exchange(named, 'id|alice', { organization: 'acme' });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const access = await claimsOf(named, res.body.access_token, API);
    expect(access).to.include({ org_id: named.org.id, org_name: 'acme' });

    const plain = await started(false);
    const refused = await exchange(plain, 'id|alice', { organization: 'acme' });
    await expectRefused(
      plain,
      refused,
      400,
      { error: 'invalid_request', error_description: 'organization is not valid' },
      'the organization parameter: no organization has the id "acme"',
    );
    expect(plain.seen).to.deep.equal([]);
  });

  it('setOrganization without the parameter; the same organization by both is fine', async () => {
    const server = await started();
    const set = await exchange(server, `id|alice|${server.org.id}`);
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
    expect(server.seen).to.deep.equal([null]);
    expect((await claimsOf(server, set.body.access_token, API)).org_id).to.equal(server.org.id);
    expect((await newest(server)).organization_id).to.equal(server.org.id);
    const both = await exchange(server, `id|alice|${server.org.id}`, {
      organization: server.org.id,
    });
    expect(both.status, JSON.stringify(both.body)).to.equal(200);
  });

  it('refuses a setOrganization that differs from the parameter, or names no organization', async () => {
    const server = await started();
    const differs = await exchange(server, `id|alice|${server.other.id}`, {
      organization: server.org.id,
    });
    await expectRefused(
      server,
      differs,
      400,
      {
        error: 'invalid_request',
        error_description: 'the organization set by the action does not match the request',
      },
      // The action's organization came from the subject token: the log redacts it.
      `setOrganization named [redacted], the organization parameter ${server.org.id}`,
      { organizationId: server.org.id },
    );
    const unknown = await exchange(server, 'id|alice|org_0000000000000000');
    await expectRefused(
      server,
      unknown,
      400,
      { error: 'invalid_request', error_description: 'organization is not valid' },
      'setOrganization: no organization has the id "[redacted]"',
    );
  });

  it("follows the client's organization_usage: deny refuses one, require needs one", async () => {
    const server = await started();
    const denied = await exchange(server, 'id|alice', { organization: server.org.id }, 'no-org');
    await expectRefused(
      server,
      denied,
      400,
      { error: 'invalid_request', error_description: 'the client does not use organizations' },
      'the organization parameter, and client no-org has organization_usage deny',
      { clientId: 'no-org' },
    );
    const deniedByAction = await exchange(server, `id|alice|${server.org.id}`, {}, 'no-org');
    await expectRefused(
      server,
      deniedByAction,
      400,
      { error: 'invalid_request', error_description: 'the client does not use organizations' },
      'setOrganization, and client no-org has organization_usage deny',
      { clientId: 'no-org' },
    );
    const missing = await exchange(server, 'id|alice', {}, 'org-only');
    await expectRefused(
      server,
      missing,
      400,
      { error: 'invalid_request', error_description: 'the client requires an organization' },
      'client org-only has organization_usage require',
      { clientId: 'org-only' },
    );
    const given = await exchange(server, 'id|alice', { organization: server.org.id }, 'org-only');
    expect(given.status, JSON.stringify(given.body)).to.equal(200);
  });

  it('a user set by id must be a member, through a connection enabled for the organization', async () => {
    const server = await started();
    const notMember = await exchange(server, 'id|alice', { organization: server.other.id });
    await expectRefused(
      server,
      notMember,
      403,
      { error: 'access_denied', error_description: 'the user is not a member of the organization' },
      `auth0|alice is not a member of ${server.other.id}`,
      { organizationId: server.other.id },
    );
    await server.cte.organizations.connections.remove(server.org.id, DB);
    const disabled = await exchange(server, 'id|alice', { organization: server.org.id });
    await expectRefused(
      server,
      disabled,
      403,
      {
        error: 'access_denied',
        error_description: 'the connection is not enabled for the organization',
      },
      `the primary connection "${DB}" of auth0|alice is not enabled for ${server.org.id}`,
      { organizationId: server.org.id },
    );
  });

  it('a connection that assigns membership adds the user; one that does not refuses a non-member', async () => {
    const server = await started();
    const auto = await exchange(server, 'conn|acme-sso|dana', { organization: server.org.id });
    expect(auto.status, JSON.stringify(auto.body)).to.equal(200);
    expect(await server.cte.organizations.members.list(server.org.id)).to.deep.equal([
      'acme-sso|dana',
      'auth0|alice',
    ]);
    expect((await newest(server)).connection).to.equal('acme-sso');

    const refused = await exchange(server, `conn|${DB}|erin`, { organization: server.org.id });
    await expectRefused(
      server,
      refused,
      403,
      { error: 'access_denied', error_description: 'the user is not a member of the organization' },
      // The user id holds the subject token's text: the log redacts it.
      `[redacted] is not a member of ${server.org.id}`,
      { organizationId: server.org.id },
    );
  });

  it('refuses a connection not enabled for the organization before creating any user', async () => {
    const server = await started();
    const res = await exchange(server, 'conn|other-idp|frank', { organization: server.org.id });
    await expectRefused(
      server,
      res,
      403,
      {
        error: 'access_denied',
        error_description: 'the connection is not enabled for the organization',
      },
      `connection "other-idp" is not enabled for ${server.org.id}`,
      { organizationId: server.org.id },
    );
    expect(server.users.getByIdentity('other-idp', 'frank')).to.equal(undefined);
  });

  it('a sandboxed action sees event.organization and calls setOrganization', async function () {
    this.timeout(20_000);
    const server = await testServer({
      sandbox: true,
      clients: [
        {
          client_id: 'org-app',
          client_secret: SECRET,
          name: 'Org app',
          token_endpoint_auth_method: 'client_secret_post',
          organization_usage: 'allow',
          token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
        },
      ],
    });
    servers.push(server);
    const org = await server.cte.organizations.create({ name: 'acme', metadata: { a: '1' } });
    await server.cte.organizations.connections.set(org.id, { connection: DB });
    await server.cte.organizations.members.add(org.id, ['auth0|alice']);
    await deployCodeProfile(server.cte, {
      name: 'sandboxed-org',
      subjectTokenType: ORG_TYPE,
      code: actionCode(`
  api.authentication.setUserById('auth0|alice');
  if (event.organization) {
    if (event.organization.metadata.a !== '1') throw new Error('no organization metadata');
  } else {
    api.authentication.setOrganization(event.transaction.subject_token);
  }`),
    });
    const byAction = await exchange(server, 'acme');
    expect(byAction.status, JSON.stringify(byAction.body)).to.equal(400);
    expect(byAction.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'organization is not valid',
    });
    const byId = await exchange(server, org.id);
    expect(byId.status, JSON.stringify(byId.body)).to.equal(200);
    expect((await claimsOf(server, byId.body.access_token, API)).org_id).to.equal(org.id);
    const byParameter = await exchange(server, 'ignored', { organization: org.id });
    expect(byParameter.status, JSON.stringify(byParameter.body)).to.equal(200);
  });

  describe('refresh tokens in an organization', () => {
    function refresh(server: TestServer, token: string, clientId = 'org-app'): Promise<Response> {
      const body = {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: clientId,
        client_secret: SECRET,
      };
      return postToken(server, body, { auth: '', userAgent: USER_AGENT }).then((res) => res);
    }

    async function offlineHarness(allowNames = false): Promise<Harness> {
      const server = await started(allowNames);
      await server.cte.resourceServers.update(API, { allow_offline_access: true });
      return server;
    }

    async function issued(server: Harness): Promise<string> {
      const res = await exchange(server, 'id|alice', {
        organization: server.org.id,
        scope: 'read:orders offline_access',
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.scope).to.equal('read:orders offline_access');
      const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
      expect(family).to.include({ organization_id: server.org.id, active: true });
      return res.body.refresh_token as string;
    }

    async function expectRefreshRefused(server: Harness, res: Response, cause: string) {
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.headers).to.include(NO_STORE);
      expect(res.body).to.deep.equal({
        error: 'invalid_grant',
        error_description: 'Unknown or invalid refresh token.',
      });
      const entry = await newest(server);
      expect(entry.type).to.equal('fertft');
      expect(entry.details).to.deep.include({ cause });
    }

    it('keeps the organization: refreshed tokens carry org_id (and org_name), sertft carries organization_id', async () => {
      const server = await offlineHarness(true);
      const res = await refresh(server, await issued(server));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.headers).to.include(NO_STORE);
      const access = await claimsOf(server, res.body.access_token, API);
      expect(access).to.include({ org_id: server.org.id, org_name: 'acme', sub: 'auth0|alice' });
      const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
      const entry = await newest(server);
      expect(entry).to.deep.equal({
        log_id: entry.log_id,
        date: entry.date,
        type: 'sertft',
        description: 'Successful Exchange of Refresh Token for Access Token',
        client_id: 'org-app',
        client_name: 'Org app',
        ip: entry.ip,
        user_agent: USER_AGENT,
        hostname: '127.0.0.1',
        audience: API,
        scope: 'read:orders offline_access',
        ...ALICE_ENTRY,
        organization_id: server.org.id,
        details: { access_token_jti: access.jti, refresh_token_family_id: family!.family_id },
      });
    });

    it('a family without an organization refreshes without one', async () => {
      const server = await offlineHarness();
      const res = await exchange(server, 'id|alice', { scope: 'read:orders offline_access' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
      expect(family).not.to.have.property('organization_id');
      const refreshed = await refresh(server, res.body.refresh_token as string);
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
      const access = await claimsOf(server, refreshed.body.access_token, API);
      expect(access).not.to.have.property('org_id');
      expect(await newest(server)).not.to.have.property('organization_id');
    });

    it('refuses a refresh once the user left the organization, and once it is deleted', async () => {
      const server = await offlineHarness();
      const token = await issued(server);
      await server.cte.organizations.members.remove(server.org.id, ['auth0|alice']);
      await expectRefreshRefused(
        server,
        await refresh(server, token),
        `auth0|alice is no longer a member of organization "${server.org.id}"`,
      );
      await server.cte.organizations.members.add(server.org.id, ['auth0|alice']);
      const again = await refresh(server, token);
      expect(again.status, JSON.stringify(again.body)).to.equal(200);
      await server.cte.organizations.delete(server.org.id);
      await expectRefreshRefused(
        server,
        await refresh(server, again.body.refresh_token as string),
        `organization "${server.org.id}" no longer exists`,
      );
    });

    it("follows the client's organization_usage as it is now", async () => {
      const server = await offlineHarness();
      const token = await issued(server);
      await server.cte.clients.update('org-app', { organization_usage: 'deny' });
      await expectRefreshRefused(
        server,
        await refresh(server, token),
        'client "org-app" has organization_usage deny now',
      );
      await server.cte.clients.update('org-app', { organization_usage: 'require' });
      expect((await refresh(server, token)).status).to.equal(200);
      const plain = await exchange(
        server,
        'id|alice',
        { scope: 'read:orders offline_access' },
        'no-org',
      );
      expect(plain.status, JSON.stringify(plain.body)).to.equal(200);
      await server.cte.clients.update('no-org', { organization_usage: 'require' });
      await expectRefreshRefused(
        server,
        await refresh(server, plain.body.refresh_token as string, 'no-org'),
        'client "no-org" has organization_usage require now',
      );
    });
  });

  it('the post-exchange action sees event.organization', async () => {
    const server = await started();
    const events: Array<PostExchangeEvent['organization'] | null> = [];
    const hook = await server.cte.actions.create({
      name: 'org-claims',
      handler: {
        onExecutePostExchange: async (event) => {
          events.push(event.organization ?? null);
        },
      },
    });
    await server.cte.actions.deploy(hook.id);
    await server.cte.postExchange.set(hook.id);
    expect((await exchange(server, 'id|alice', { organization: server.org.id })).status).to.equal(
      200,
    );
    expect((await exchange(server, 'id|alice|' + server.org.id)).status).to.equal(200);
    expect((await exchange(server, 'id|alice', {}, 'no-org')).status).to.equal(200);
    const acme = {
      id: server.org.id,
      name: 'acme',
      display_name: 'Acme Inc.',
      metadata: { tier: 'gold' },
    };
    expect(events).to.deep.equal([acme, acme, null]);
  });

  describe('cte.organizations', () => {
    it('creates, reads, updates and deletes organizations with their members and connections', async () => {
      const server = await started();
      const { organizations } = server.cte;
      const created = await organizations.create({
        id: 'org_ABCDEFGHijklmnop',
        name: 'initech',
        metadata: { region: 'eu' },
      });
      expect(created).to.deep.equal({
        id: 'org_ABCDEFGHijklmnop',
        name: 'initech',
        metadata: { region: 'eu' },
      });
      expect(server.org.id).to.match(/^org_[A-Za-z0-9]{16}$/);
      expect(await organizations.getByName('initech')).to.deep.equal(created);
      expect((await organizations.list()).map((org) => org.name)).to.deep.equal([
        'acme',
        'globex',
        'initech',
      ]);
      const updated = await organizations.update(created.id, { display_name: 'Initech' });
      expect(updated).to.deep.equal({ ...created, display_name: 'Initech' });
      await organizations.members.add(created.id, ['auth0|b', 'auth0|a']);
      await organizations.members.remove(created.id, ['auth0|b']);
      expect(await organizations.members.list(created.id)).to.deep.equal(['auth0|a']);
      expect(await organizations.connections.list(server.org.id)).to.deep.equal([
        { connection: DB, assign_membership_on_login: false },
        { connection: 'acme-sso', assign_membership_on_login: true },
      ]);
      await organizations.delete(created.id);
      await expectManagementError(organizations.get(created.id), 'not_found');
      await expectManagementError(organizations.members.list(created.id), 'not_found');
    });

    it('refuses bad fields, taken names and unknown ids with ManagementError codes', async () => {
      const server = await started();
      const { organizations } = server.cte;
      await expectManagementError(
        organizations.create({ name: 'Acme Corp' }),
        'invalid_body',
        'Invalid request body: name must be 1 to 50 lower case letters, digits, - or _, starting with a letter or digit.',
      );
      await expectManagementError(
        organizations.create({ name: 'acme' }),
        'conflict',
        'An organization with this name already exists.',
      );
      await expectManagementError(
        organizations.create({ name: 'x', id: 'org_1' }),
        'invalid_body',
        'Invalid request body: id must be org_ followed by 16 letters or digits.',
      );
      await expectManagementError(
        organizations.update(server.org.id, { name: 'globex' }),
        'conflict',
        'An organization with this name already exists.',
      );
      await expectManagementError(
        organizations.members.add(server.org.id, []),
        'invalid_body',
        'Invalid request body: members must be an array of 1 to 10 user ids.',
      );
      await expectManagementError(
        organizations.connections.set(server.org.id, {
          connection: DB,
          assign_membership_on_login: 'yes' as unknown as boolean,
        }),
        'invalid_body',
        'Invalid request body: assign_membership_on_login must be a boolean.',
      );
      await expectManagementError(
        organizations.update('org_0000000000000000', { name: 'nobody' }),
        'not_found',
        'No organization found by that id or name',
      );
      expect(await organizations.get(server.org.id)).to.deep.equal(server.org);
    });
  });
});

async function expectManagementError(
  promise: Promise<unknown>,
  code: string,
  message?: string,
): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ManagementError);
    expect((error as ManagementError).code).to.equal(code);
    if (message !== undefined) expect((error as ManagementError).message).to.equal(message);
    return;
  }
  expect.fail(`expected a ManagementError ${code}`);
}
