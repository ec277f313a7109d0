export * from './net';
export * from './domain';
export * from './provider-index';
export * from './secret';
export * from './materialiser';
export * from './plugin';
