export * from './csv-source';
export * from './jsonl-source';
export * from './postgres-source';
export * from './source-adapters';
export * from './sqlite-source';
