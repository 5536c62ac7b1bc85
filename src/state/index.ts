export * from './clock';
export * from './lock-staleness';
export * from './lock-store';
export * from './secret-cipher';
export * from './secret-key';
export * from './spec-hash';
export * from './state-errors';
export * from './state-url';
