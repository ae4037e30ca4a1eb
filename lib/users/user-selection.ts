import type { UserProfile } from './user-store.js';

/** Attributes accepted by `setUserByConnection` (at most 24, `user_id` required). */
export interface UserAttributes extends UserProfile {
  user_id: string;
  /** Accepted for Auth0 compatibility; not stored. */
  verify_email?: boolean;
}

export interface SetUserByConnectionOptions {
  creationBehavior: 'create_if_not_exists' | 'none';
  updateBehavior: 'replace' | 'none';
}

/** Which user an action chose, as the router will look it up. */
export type UserSelection =
  | { type: 'id'; user_id: string }
  | {
      type: 'connection';
      connection: string;
      attributes: UserAttributes;
      options: SetUserByConnectionOptions;
    };

/** What an action decided about the user: who, and the metadata to merge. */
export interface UserDecision {
  selection: UserSelection;
  /** `setAppMetadata` calls merged in call order; a `null` value means "remove the key". */
  app_metadata: Record<string, unknown>;
  /** `setUserMetadata` calls merged in call order; a `null` value means "remove the key". */
  user_metadata: Record<string, unknown>;
}
