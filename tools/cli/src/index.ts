export { main, buildProgram } from './cli';
export type { CliIo } from './cli';
export { HashCheckClient, ApiError, formatOf } from './client';
export type { ImportResult, ReleaseInfo } from './client';
