import type {
  ActionApiMethod,
  ActionApiRecorder,
  PostExchangeApiMethod,
} from '../sandbox/action-runner.js';
import { ID_TOKEN_PROFILE_CLAIMS, RESTRICTED_CUSTOM_CLAIMS } from '../tokens/custom-claims.js';
import { InvalidArgument } from './action-api-error.js';
import { checkString } from './argument-checks.js';
import { isPlainObject } from '../definition-checks.js';
import { CommandRecorder } from './command-recorder.js';
import { copyPlainData } from './plain-data.js';
import { MULTIFACTOR_PROVIDERS } from './post-exchange-types.js';
import type {
  MultifactorProvider,
  PostExchangeApi,
  PostExchangeCommand,
} from './post-exchange-types.js';

/** Longest custom claim name, in characters. */
export const MAX_CUSTOM_CLAIM_NAME_LENGTH = 255;

/**
 * UTF-8 bytes the custom claims of one token may take (names plus JSON values): tokens travel in
 * headers, where 8–16 kB is a common limit for all of them together.
 */
export const MAX_CUSTOM_CLAIMS_BYTES = 16 * 1024;

/** Options of {@link PostExchangeRecorder}. */
export interface PostExchangeRecorderOptions {
  /** Applied to every console line before it is cut. Default: identity. */
  redact?: (text: string) => string;
  /**
   * Whether the exchange has an organization: `api.multifactor.enable` is then refused, as in
   * Auth0. Default `false`.
   */
  organization?: boolean;
}

type TokenName = 'accessToken' | 'idToken';

const TOKEN_LABELS: Readonly<Record<TokenName, string>> = {
  accessToken: 'the access token',
  idToken: 'the ID token',
};

/**
 * Records one post-exchange execution's `api.*` calls as validated, copied
 * {@link PostExchangeCommand}s, and its console lines as the custom-token-exchange recorder does.
 *
 * `setCustomClaim` is checked when it is called, so the author sees the problem where it is:
 * a restricted claim (`act`, `may_act`, `iss`, `sub`, `aud`, `exp`, `iat`, `nbf`, `jti`,
 * `client_id`, `scope`, `azp`, `org_id`, `org_name`; on the ID token also the OIDC profile claims
 * such as `email` or `name`, which only their scope releases), a value that is not JSON data, or
 * claims over {@link MAX_CUSTOM_CLAIMS_BYTES} for one token. Every refused call throws an
 * {@link ActionApiError} into the action and is remembered in {@link violations}: the exchange
 * then fails closed even if the action catches the error.
 */
export class PostExchangeRecorder
  extends CommandRecorder<PostExchangeCommand>
  implements ActionApiRecorder
{
  readonly trigger = 'post-exchange';
  /** Bytes of each claim set so far, per token; a later call with the same name replaces it. */
  readonly #claimBytes: Record<TokenName, Map<string, number>> = {
    accessToken: new Map(),
    idToken: new Map(),
  };
  #api: PostExchangeApi | undefined;
  readonly #organization: boolean;

  constructor(options: PostExchangeRecorderOptions = {}) {
    super(options.redact);
    this.#organization = options.organization ?? false;
  }

  /** The `api` object handed to in-process handlers; each method forwards to {@link call}. */
  api(): PostExchangeApi {
    this.#api ??= createPostExchangeApi((method, args) => this.call(method, args));
    return this.#api;
  }

  protected validate(method: ActionApiMethod, args: readonly unknown[]): PostExchangeCommand {
    if (!Array.isArray(args)) throw new InvalidArgument('arguments must be an array');
    switch (method as PostExchangeApiMethod) {
      case 'access.deny': {
        const [code, reason] = args;
        return {
          type: 'deny',
          code: checkString(code, 'code', 1, 1024),
          reason: checkString(reason, 'reason', 1, 4096),
        };
      }
      case 'accessToken.setCustomClaim':
        return this.#customClaim('accessToken', args);
      case 'idToken.setCustomClaim':
        return this.#customClaim('idToken', args);
      case 'multifactor.enable':
        return this.#enableMultifactor(args);
      default:
        throw new InvalidArgument('not a post-exchange api method');
    }
  }

  #enableMultifactor([provider, options]: readonly unknown[]): PostExchangeCommand {
    if (!(MULTIFACTOR_PROVIDERS as readonly unknown[]).includes(provider)) {
      throw new InvalidArgument(
        `provider must be one of ${MULTIFACTOR_PROVIDERS.map((name) => `"${name}"`).join(', ')}`,
      );
    }
    if (options !== undefined) {
      if (!isPlainObject(options)) throw new InvalidArgument('options must be an object');
      for (const key of Object.keys(options)) {
        if (key !== 'allowRememberBrowser' && key !== 'providerOptions') {
          throw new InvalidArgument(
            `options.${key} is not an option (allowRememberBrowser, providerOptions)`,
          );
        }
      }
      const remember = options.allowRememberBrowser;
      if (remember !== undefined && typeof remember !== 'boolean') {
        throw new InvalidArgument('options.allowRememberBrowser must be a boolean');
      }
      const providerOptions = options.providerOptions;
      if (providerOptions !== undefined && !isPlainObject(providerOptions)) {
        throw new InvalidArgument('options.providerOptions must be an object');
      }
    }
    if (this.#organization) {
      throw new InvalidArgument(
        'api.multifactor.enable() is not available when the exchange has an organization',
      );
    }
    return { type: 'enableMultifactor', provider: provider as MultifactorProvider };
  }

  #customClaim(token: TokenName, [name, value]: readonly unknown[]): PostExchangeCommand {
    const claim = checkString(name, 'name', 1, MAX_CUSTOM_CLAIM_NAME_LENGTH);
    if (RESTRICTED_CUSTOM_CLAIMS.has(claim)) {
      throw new InvalidArgument(
        `"${claim}" is a restricted claim: the router sets it and custom claims cannot`,
      );
    }
    if (token === 'idToken' && ID_TOKEN_PROFILE_CLAIMS.has(claim)) {
      throw new InvalidArgument(
        `"${claim}" is an OpenID Connect claim of the ID token that only the router sets (profile claims follow the granted scopes)`,
      );
    }
    if (claim === '__proto__')
      throw new InvalidArgument('"__proto__" is not an allowed claim name');
    if (value === undefined) {
      throw new InvalidArgument('value is undefined, which is not JSON data');
    }
    const copy = copyPlainData(value, 'value');
    const bytes = Buffer.byteLength(claim) + Buffer.byteLength(JSON.stringify(copy));
    const sizes = this.#claimBytes[token];
    let total = bytes;
    for (const [other, size] of sizes) if (other !== claim) total += size;
    if (total > MAX_CUSTOM_CLAIMS_BYTES) {
      throw new InvalidArgument(
        `the custom claims of ${TOKEN_LABELS[token]} would take ${total} bytes; at most ${MAX_CUSTOM_CLAIMS_BYTES} are allowed`,
      );
    }
    sizes.set(claim, bytes);
    return { type: 'setCustomClaim', token, name: claim, value: copy };
  }
}

/** A frozen post-exchange `api` whose methods forward all their arguments to `call`. */
function createPostExchangeApi(
  call: (method: PostExchangeApiMethod, args: unknown[]) => void,
): PostExchangeApi {
  const forward =
    (method: PostExchangeApiMethod) =>
    (...args: unknown[]): void =>
      call(method, args);
  return Object.freeze({
    access: Object.freeze({ deny: forward('access.deny') }),
    accessToken: Object.freeze({ setCustomClaim: forward('accessToken.setCustomClaim') }),
    idToken: Object.freeze({ setCustomClaim: forward('idToken.setCustomClaim') }),
    multifactor: Object.freeze({ enable: forward('multifactor.enable') }),
  });
}
