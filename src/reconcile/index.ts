export * from './apply-plan';
export * from './compute-plan';
export * from './plan';
export * from './plan-steps';
export * from './render-plan';
