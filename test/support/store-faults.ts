import { expect } from 'chai';

/** The rejection of `call` and how long it took; fails the test when `call` resolves. */
export async function timedRejection(call: () => Promise<unknown>): Promise<[unknown, number]> {
  const started = Date.now();
  const error = await call().then(
    () => expect.fail('the call resolved while the server was down'),
    (err: unknown) => err,
  );
  return [error, Date.now() - started];
}
