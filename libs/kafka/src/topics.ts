import type { Kafka } from 'kafkajs';
import type { TopicSpec } from '@hashcheck/events';

export interface EnsureTopicsOptions {
  prefix?: string;
  replicationFactor?: number;
}

/**
 * Creates the topics that are missing; existing topics are left as they are (partition counts
 * only grow by an explicit operator action, since growing them reshuffles keys).
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[], options: EnsureTopicsOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? '';
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(prefix + s.name));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: prefix + s.name,
        numPartitions: s.partitions,
        replicationFactor: options.replicationFactor ?? 1,
        configEntries: [
          { name: 'cleanup.policy', value: s.cleanupPolicy },
          ...(s.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
        ],
      })),
    });
    return missing.map((s) => prefix + s.name);
  } finally {
    await admin.disconnect();
  }
}
