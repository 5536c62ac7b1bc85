export * from './postgres-run-store';
export * from './run-engine-postgres-migrations';
