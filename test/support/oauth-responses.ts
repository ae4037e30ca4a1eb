import { SECRET, basic } from './fixtures.js';

/** The headers every token endpoint response carries, success or error. */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** `app`'s HTTP Basic credentials, the client most tests call as. */
export const APP = basic('app', SECRET);

/** The body of any 500: nothing of the failure reaches the client. */
export const SERVER_ERROR = {
  error: 'server_error',
  error_description: 'The server encountered an unexpected error.',
};

/** The body of every refused client authentication, whatever the reason. */
export const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description: 'Client authentication failed.',
};

/** The body of every refused refresh token, whatever the reason. */
export const UNKNOWN_REFRESH_TOKEN = {
  error: 'invalid_grant',
  error_description: 'Unknown or invalid refresh token.',
};
