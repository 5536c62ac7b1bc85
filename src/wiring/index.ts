export * from './migrate-state';
export * from './open-exportctl-state';
export * from './postgres-run-engine';
export * from './run-engine-state';
export * from './state-backends';
export * from './state-migrations';
export * from './state-rate-limiters';
export * from './state-transfer';
