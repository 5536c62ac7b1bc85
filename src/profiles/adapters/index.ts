export * from './csv-source';
export * from './jsonl-source';
export * from './source-adapters';
export * from './sqlite-source';
