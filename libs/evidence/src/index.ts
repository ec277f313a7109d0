export * from './canonical';
export * from './redactable';
export * from './chain';
