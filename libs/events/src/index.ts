export * from './envelope';
export * from './registry';
export * from './codec';
export * from './topics';
export * from './headers';
export * from './catalogue';
