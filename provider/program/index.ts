export * from './declare-manifests';
export * from './manifests-invalid-error';
export * from './run-program';
export * from './stack-settings';
