import { CleanupPolicy, EventRegistry } from './registry';

/**
 * Every topic the system uses, in one place. Partition counts bound how far a consumer group can
 * scale out; compacted topics carry reference data that each service materialises locally.
 */
export const registry = new EventRegistry();

const DAY = 24 * 60 * 60 * 1000;

export const Topics = {
  reportsSubmitted: registry.addTopic({ name: 'hashcheck.reports.submitted.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 14 * DAY, description: 'Reports published by partner systems (input of intake).' }).name,
  reportsAccepted: registry.addTopic({ name: 'hashcheck.reports.accepted.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 14 * DAY, description: 'Reports intake validated, normalised and stored.' }).name,
  reportsRejected: registry.addTopic({ name: 'hashcheck.reports.rejected.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 30 * DAY, description: 'Reports intake refused, with the reasons.' }).name,
  reportsMatched: registry.addTopic({ name: 'hashcheck.reports.matched.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 14 * DAY, description: 'Accepted reports whose content matched a hash list.' }).name,
  reportsUnmatched: registry.addTopic({ name: 'hashcheck.reports.unmatched.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 14 * DAY, description: 'Accepted reports whose content matched no list.' }).name,
  noticesRequested: registry.addTopic({ name: 'hashcheck.notices.requested.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 14 * DAY, description: 'Re-notices enforcement asks notification to send.' }).name,
  noticesSent: registry.addTopic({ name: 'hashcheck.notices.sent.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 30 * DAY, description: 'Notices delivered, with proof of delivery and the deadline.' }).name,
  noticesFailed: registry.addTopic({ name: 'hashcheck.notices.failed.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 30 * DAY, description: 'Notices that could not be delivered on a channel, or at all.' }).name,
  removalsReported: registry.addTopic({ name: 'hashcheck.removals.reported.v1', partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 30 * DAY, description: 'Removal observations from re-check partners.' }).name,
  enforcementEscalated: registry.addTopic({ name: 'hashcheck.enforcement.escalated.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 90 * DAY, description: 'Each escalation step of a case.' }).name,
  casesClosed: registry.addTopic({ name: 'hashcheck.cases.closed.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 90 * DAY, description: 'Closed cases with their time to removal.' }).name,
  providers: registry.addTopic({ name: 'hashcheck.providers.v1', partitions: 3, cleanupPolicy: CleanupPolicy.COMPACT, description: 'The provider registry, latest state per provider (compacted).' }).name,
  hashesChanges: registry.addTopic({ name: 'hashcheck.hashes.changes.v1', partitions: 1, cleanupPolicy: CleanupPolicy.COMPACT, description: 'Hash list changes, applied incrementally by every hash-check instance (compacted).' }).name,
  hashesRetractionRequested: registry.addTopic({ name: 'hashcheck.hashes.retraction-requested.v1', partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 90 * DAY, description: 'False-positive disputes upheld by enforcement: hash-check reviews and retracts the hash.' }).name,
  deadLetter: registry.addTopic({ name: 'hashcheck.deadletter.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, retentionMs: 30 * DAY, description: 'Undecodable or poison messages with their original bytes and headers.' }).name,
} as const;
