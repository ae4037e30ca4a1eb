import type { UserStore } from '../users/user-store.js';

/**
 * A user as Auth0 lists an organization's members or a role's users: the id, and the user's
 * name, email and picture when the user store knows them.
 */
interface UserSummary {
  user_id: string;
  email?: string;
  name?: string;
  picture?: string;
}

/**
 * A page of user ids, bare or under `field` (`{ members: [...], total }`), with each id turned
 * into the user's summary.
 */
export async function withUserSummaries(
  page: unknown,
  field: string,
  users: UserStore,
): Promise<unknown> {
  if (Array.isArray(page)) return summariesOf(page as string[], users);
  const wrapped = page as Record<string, string[]>;
  return { ...wrapped, [field]: await summariesOf(wrapped[field]!, users) };
}

function summariesOf(ids: readonly string[], users: UserStore): Promise<UserSummary[]> {
  return Promise.all(
    ids.map(async (userId): Promise<UserSummary> => {
      const user = await users.getById(userId);
      return {
        user_id: userId,
        ...(user?.email === undefined ? {} : { email: user.email }),
        ...(user?.name === undefined ? {} : { name: user.name }),
        ...(user?.picture === undefined ? {} : { picture: user.picture }),
      };
    }),
  );
}
