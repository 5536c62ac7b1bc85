export * from './open-exportctl-state';
export * from './run-engine-state';
export * from './state-migrations';
