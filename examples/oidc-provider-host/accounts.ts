/**
 * The provider's account model on top of the router's user store: `findAccount` reads the same
 * `UserStore` the router's `setUserByConnection` writes, so a user created by a token exchange is
 * an account of the provider at once, with the same id (`partner-idp|jane-42`) and profile.
 */
import type { Account, FindAccount } from 'oidc-provider';
import type { User, UserStore } from '../../lib/index.js';

/** The provider's `claims` configuration: which profile claims each OIDC scope releases. */
export const ACCOUNT_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'nickname', 'picture', 'updated_at'],
};

/**
 * `findAccount(ctx, sub)` over `users`. A blocked user is no account, as the router refuses
 * blocked users too: the provider then refuses the session, the code and the access token.
 */
export function findAccountIn(users: UserStore): FindAccount {
  return async (_ctx, sub) => {
    const user = await users.getById(sub);
    if (!user || user.blocked) return undefined;
    return toAccount(user);
  };
}

function toAccount(user: User): Account {
  return {
    accountId: user.user_id,
    // The provider filters these by the scopes and claims granted.
    claims: () => ({
      sub: user.user_id,
      email: user.email,
      email_verified: user.email_verified,
      name: user.name,
      given_name: user.given_name,
      family_name: user.family_name,
      nickname: user.nickname,
      picture: user.picture,
      updated_at: Math.floor(Date.parse(user.updated_at) / 1000),
    }),
  };
}
