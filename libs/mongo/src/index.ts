export * from './client';
export * from './outbox';
export * from './plugin';
export * from './relay-plugin';
export * from './coalescer';
export * from './insert-batcher';
export * from './pending-marks';
export * from './consumer-outbox';
