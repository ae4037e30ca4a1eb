/*
 * The arguments of the stores that remember keys until an expiry (replay keys, revoked `jti`s),
 * checked alike by each implementation. `method` names the call in the message
 * (`RedisReplayStore.consume`), `name` the key's parameter (`key`, `jti`).
 */

/** @throws TypeError unless `key` is a non-empty string. */
export function checkExpiringKey(method: string, name: string, key: unknown): void {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`${method}: ${name} must be a non-empty string`);
  }
}

/** @throws TypeError unless `key` is a non-empty string and `expiresAtSeconds` a finite number. */
export function checkExpiringEntry(
  method: string,
  name: string,
  key: unknown,
  expiresAtSeconds: unknown,
): void {
  checkExpiringKey(method, name, key);
  if (typeof expiresAtSeconds !== 'number' || !Number.isFinite(expiresAtSeconds)) {
    throw new TypeError(`${method}: expiresAtSeconds must be a finite number`);
  }
}
