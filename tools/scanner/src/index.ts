export {
  ApiErrorCode,
  BULK_MAX_ITEMS,
  BulkChecker,
  DEFAULT_RETRY,
  EOKM_LIST,
  EokmChecker,
  isFatalApiError,
  parseRetryAfter,
  requestWithRetry,
  retryDelayMs,
} from './api-client';
export type { CheckItem, CheckType, Checker, HttpOptions, ItemResult, ListMatch, RetryPolicy } from './api-client';
export { DEFAULT_MAX_IMAGE_BYTES, FileErrorCode, changeDuringRead, digestFile, hashFile } from './file-hasher';
export type { FileError, FileHashes, HashFileOptions, HashOutcome } from './file-hasher';
export { HASH_CSV_HEADER, runHashCommand } from './hash-command';
export { ProgressDisplay, computeRates, formatDuration, newProgressStats, progressLine } from './progress';
export type { ProgressMode, ProgressStats, Rates } from './progress';
export { Quarantine } from './quarantine';
export { MATCH_CSV_HEADER, MemoryReport, csvField, csvLine, formatMatch, matchRecord, openReport } from './report';
export type { MatchRecord, ReportFormat, ReportSink } from './report';
export { DEFAULT_PDQ_MIN_QUALITY, checkItemsFor, exitCodeFor, formatSummary, runScan } from './scan';
export type { ScanOptions, ScanSummary } from './scan';
export { ScanState } from './state';
export type { FileMatch, StateEntry } from './state';
export { walk } from './walk';
export type { WalkEntry, WalkOptions } from './walk';
export { HashPool } from './worker-pool';
export type { HashPoolOptions } from './worker-pool';
export { buildProgram, main } from './cli';
