export * from './job-id';
export * from './pg-boss-run-queue';
export * from './run-queue';
