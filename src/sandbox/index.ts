export * from './contact-table';
export * from './sandbox-account';
export * from './sandbox-faults';
export * from './sandbox-seed';
export * from './sandbox-traffic';
export * from './start-sandbox';
