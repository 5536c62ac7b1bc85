export * from './connection-fault-retry';
export * from './is-loopback-host';
