export * from './access-token';
export * from './run-progress-board';
export * from './status-page';
