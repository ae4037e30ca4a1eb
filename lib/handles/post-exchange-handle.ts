import type { PostExchangeHook, PostExchangeHookHandle } from '../profiles/post-exchange-hook.js';

/** The `postExchange` handle over the router's hook: its management methods only. */
export function postExchangeHandle(hook: PostExchangeHook): PostExchangeHookHandle {
  return Object.freeze({
    set: (actionId: string) => hook.set(actionId),
    clear: () => hook.clear(),
    get: () => hook.get(),
  });
}
