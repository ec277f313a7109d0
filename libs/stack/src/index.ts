/**
 * @hashcheck/stack: the real local infrastructure (no Docker) for `npm start` and the tests.
 * See docs/local-stack.md.
 */
export { startStack, prepareStack, MongoMode, NOT_MANAGED, VERSIONS } from './stack';
export type { Stack, StackCrash, StartStackOptions, PrepareStackOptions, PrepareResult, MongoModeValue } from './stack';
export type { Artifact } from './artifacts';
export { cacheRoot } from './artifacts';
export { MongoKind } from './mongo';
export type { MongoKindValue } from './mongo';
export { probeKafka, waitForTopicLeaders } from './kafka';
export { probeMongo } from './mongo';
export { probeZipkin, zipkinOtelEnv } from './zipkin';
export { checkJava, checkMaven, checkGo, findOnPath, PREREQ_MISSING, INSTALL_HINT } from './prereqs';
export { startContainerStack, containerSettings, kafkaContainerEnv, ContainerNetwork, DEFAULT_IMAGES, STACK_LABEL, type ContainerStackSettings, type ContainerNetworkValue } from './containers';
