export * from './run-engine-sqlite-migrations';
export * from './sqlite-run-engine-transfer';
export * from './sqlite-run-store';
