import { expect } from 'chai';
import { ManagementError } from '../../lib/index.js';
import type { ManagementErrorCode } from '../../lib/index.js';

/** The reason `promise` rejects with; fails the test when it fulfils. */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

/** The error `promise` rejects with, asserted to be a `type`. */
export async function rejectionAs<T>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const err = await rejectionOf(promise);
  expect(err).to.be.instanceOf(type);
  return err as T;
}

/** What `run` throws; fails the test when it returns. */
export function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return expect.fail('expected a throw');
}

/** The code and message of the ManagementError `promise` rejects with. */
export async function managementError(
  promise: Promise<unknown>,
): Promise<{ code: ManagementErrorCode; message: string }> {
  const { code, message } = await rejectionAs(promise, ManagementError);
  return { code, message };
}

/** Asserts `promise` rejects with a ManagementError of this code and message. */
export async function expectManagementError(
  promise: Promise<unknown>,
  code: ManagementErrorCode,
  message: string,
): Promise<void> {
  expect(await managementError(promise)).to.eql({ code, message });
}

/** Asserts `run` throws a ManagementError of this code, message and the code's HTTP status. */
export function expectThrownManagementError(
  run: () => unknown,
  code: ManagementErrorCode,
  message: string,
): void {
  const err = thrownBy(run);
  expect(err).to.be.instanceOf(ManagementError);
  const status = { invalid_body: 400, not_found: 404, conflict: 409 }[code as string];
  const { code: actualCode, status: actualStatus, message: actualMessage } = err as ManagementError;
  expect({ code: actualCode, status: actualStatus, message: actualMessage }).to.deep.equal({
    code,
    status,
    message,
  });
}
