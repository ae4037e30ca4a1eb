export { revokedTokenStoreContract } from './revoked-token-store-contract.js';
export type { ContractOptions, ContractTestApi, StoreFactory } from './contract-api.js';
