export * from './exportctl-error';
