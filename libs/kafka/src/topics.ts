import type { Kafka } from 'kafkajs';
import { isRetriable } from '@hashcheck/errors';
import type { TopicSpec } from '@hashcheck/events';

export interface EnsureTopicsOptions {
  prefix?: string;
  replicationFactor?: number;
  attempts?: number;
}

function alreadyExists(err: unknown): boolean {
  const e = err as { type?: string; errors?: unknown[] };
  if (e?.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every(alreadyExists);
}

/**
 * Creates the topics that are missing; existing topics are left as they are (partition counts
 * only grow by an explicit operator action, since growing them reshuffles keys).
 *
 * Several services start at once and race to create the same topics, and the broker may answer
 * the leader wait with UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created: both are retried
 * against a fresh topic list instead of failing the boot.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[], options: EnsureTopicsOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? '';
  const attempts = options.attempts ?? 6;
  const admin = kafka.admin();
  await admin.connect();
  const created = new Set<string>();
  try {
    for (let attempt = 1; ; attempt += 1) {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(prefix + s.name));
      if (missing.length === 0) return [...created];
      try {
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
        for (const s of missing) created.add(prefix + s.name);
      } catch (err) {
        if (attempt >= attempts || !(alreadyExists(err) || isRetriable(err))) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
