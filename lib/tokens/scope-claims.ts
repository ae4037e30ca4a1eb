/**
 * The OIDC standard claims the `profile` scope releases in an ID token (OpenID Connect Core
 * section 5.4), as far as the router's users hold them; `updated_at` besides, written in seconds.
 */
export const PROFILE_SCOPE_CLAIMS = [
  'name',
  'given_name',
  'family_name',
  'nickname',
  'picture',
] as const;

/** The claims the `email` scope releases. */
export const EMAIL_SCOPE_CLAIMS = ['email', 'email_verified'] as const;

/** Every claim the `profile` and `email` scopes release, in that order. */
export const SCOPE_CLAIMS: readonly string[] = [
  ...PROFILE_SCOPE_CLAIMS,
  'updated_at',
  ...EMAIL_SCOPE_CLAIMS,
];
