export * from './access';
export * from './connection';
export * from './export-destination';
export * from './input-shape';
export * from './manifest-resource';
export * from './profile-source';
export * from './project-folder';
export * from './refresh';
