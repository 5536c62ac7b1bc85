export * from './postgres-run-engine-transfer';
export * from './postgres-run-store';
export * from './run-engine-postgres-migrations';
