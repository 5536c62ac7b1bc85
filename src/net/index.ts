export * from './is-loopback-host';
