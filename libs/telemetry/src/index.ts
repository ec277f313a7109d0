export * from './attributes';
export * from './spans';
export * from './metrics';
