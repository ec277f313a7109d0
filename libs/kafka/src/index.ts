export * from './client';
export * from './topics';
export * from './producer';
export * from './consumer';
export * from './tracing';
export * from './health';
export * from './plugin';
export * from './lag';
