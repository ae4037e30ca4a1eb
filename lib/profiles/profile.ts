import type { ManagedBy } from './shared-records.js';

/** The only profile type Auth0 defines. */
export type ProfileType = 'custom_authentication';

/** The profile type of every custom token exchange, and of the refresh tokens issued by one. */
export const CUSTOM_AUTHENTICATION: ProfileType = 'custom_authentication';

/**
 * A Custom Token Exchange profile (Auth0's `/api/v2/token-exchange-profiles` object): requests
 * whose `subject_token_type` equals the profile's are decided by its action.
 */
export interface Profile {
  /** The id given to `create`, or `tep_` followed by 16 random base62 characters. */
  id: string;
  /** 3–50 characters. */
  name: string;
  /** Unique; compared exactly, as the token request's parameter is. */
  subject_token_type: string;
  /** The bound action; fixed at creation. */
  action_id: string;
  type: ProfileType;
  /**
   * Longest `subject_token` and `actor_token` the profile accepts, in characters; longer ones
   * are `400 invalid_request` before anything reads them. Absent: the router's `maxTokenLength`
   * (16 KiB by default, room for any JWT). Set it higher for larger formats, such as SAML
   * assertions (at most `MAX_TOKEN_LENGTH_CEILING`). Not an Auth0 field.
   */
  max_token_length?: number;
  /**
   * `code`: defined by the host's code through `cte.profiles` (the Management API refuses to
   * change it); `api`: created through the Management API, kept in the shared configuration.
   */
  managed_by: ManagedBy;
  /**
   * When `true`, the router reads the `may_act` claim (RFC 8693 §4.4) of a subject token that is a
   * JWT, once the action accepted it, and refuses an actor that is not the party it names
   * (`400 invalid_request`). Absent: only a `may_act` the action passes to `setActor` is checked.
   * Not an Auth0 field.
   */
  enforce_may_act?: boolean;
  /** ISO 8601. */
  created_at: string;
  /** ISO 8601. */
  updated_at: string;
}

/** A profile as the registry and the shared store keep it: the view without `managed_by`. */
export type StoredProfile = Omit<Profile, 'managed_by'>;

/** What `profiles.create()` accepts: Auth0's create body, and the router's token length cap. */
export interface ProfileDefinition {
  /**
   * The profile's id, chosen by the caller: `tep_` followed by 16 letters or digits (Auth0's
   * profile id shape), unique in the registry. Default a random one. Instances that register the
   * same configuration at boot give a profile the same id this way, so the state they share
   * under it (its rate-limit counters, its log entries) is one profile's on all of them. Only
   * `create` takes it: an id never changes.
   */
  id?: string;
  name: string;
  subject_token_type: string;
  action_id: string;
  type: ProfileType;
  /** See {@link Profile.max_token_length}. */
  max_token_length?: number;
  /** See {@link Profile.enforce_may_act}. */
  enforce_may_act?: boolean;
}

/** What `profiles.update()` accepts: at least one field. The action cannot change. */
export interface ProfilePatch {
  name?: string;
  subject_token_type?: string;
  /** A new cap, or `null` to return to the router's `maxTokenLength`. */
  max_token_length?: number | null;
  enforce_may_act?: boolean;
}
