export * from './app';
export * from './health';
export { default as fp } from 'fastify-plugin';
export * from './query';
