export * from './watch-notifier';
