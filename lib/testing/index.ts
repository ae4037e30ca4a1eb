export { testAction } from '../sandbox/test-action.js';
export type {
  TestActionEvent,
  TestActionOptions,
  TestActionResult,
} from '../sandbox/test-action.js';
export { replayStoreContract } from './replay-store-contract.js';
export { actionCacheStoreContract } from './action-cache-store-contract.js';
export { userStoreContract } from './user-store-contract.js';
export { refreshTokenStoreContract } from './refresh-token-store-contract.js';
export { clientStoreContract } from './client-store-contract.js';
export { keyStoreContract } from './key-store-contract.js';
export { queryableLogSinkContract } from './log-sink-contract.js';
export { configStoreContract } from './config-store-contract.js';
export { organizationStoreContract } from './organization-store-contract.js';
export { permissionStoreContract } from './permission-store-contract.js';
export { revokedTokenStoreContract } from './revoked-token-store-contract.js';
export { attemptStoreContract, sleepingClock } from './attempt-store-contract.js';
export type {
  AttemptStoreContractOptions,
  AttemptStoreFactory,
  ContractClock,
} from './attempt-store-contract.js';
export type { ContractOptions, ContractTestApi, StoreFactory } from './contract-api.js';
