export * from './expected-members';
export * from './list-expectation';
export * from './rate-check';
