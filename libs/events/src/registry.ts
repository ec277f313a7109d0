import type { TSchema } from '@sinclair/typebox';
import type { EventDefinition } from './envelope';

export const CleanupPolicy = { DELETE: 'delete', COMPACT: 'compact' } as const;
export type CleanupPolicyValue = (typeof CleanupPolicy)[keyof typeof CleanupPolicy];

export interface TopicSpec {
  /** Base name; a deployment may prefix it (KAFKA_TOPIC_PREFIX), tests use a random prefix. */
  readonly name: string;
  readonly partitions: number;
  readonly cleanupPolicy: CleanupPolicyValue;
  readonly retentionMs?: number;
  readonly description: string;
}

/**
 * Keeps every event definition and every topic in one place, so that services, the deploy topic
 * list and the AsyncAPI document can all be checked against it.
 */
export class EventRegistry {
  readonly #events = new Map<string, EventDefinition>();
  readonly #topics = new Map<string, TopicSpec>();

  addTopic(spec: TopicSpec): TopicSpec {
    if (this.#topics.has(spec.name)) throw new Error(`topic ${spec.name} registered twice`);
    this.#topics.set(spec.name, Object.freeze(spec));
    return spec;
  }

  add<S extends TSchema>(def: EventDefinition<S>): EventDefinition<S> {
    const key = `${def.type}.v${def.version}`;
    if (this.#events.has(key)) throw new Error(`event ${key} registered twice`);
    if (!this.#topics.has(def.topic)) throw new Error(`event ${key} names unknown topic ${def.topic}`);
    this.#events.set(key, def);
    return def;
  }

  get(type: string, version: number): EventDefinition | undefined {
    return this.#events.get(`${type}.v${version}`);
  }

  topic(name: string): TopicSpec | undefined {
    return this.#topics.get(name);
  }

  events(): EventDefinition[] {
    return [...this.#events.values()];
  }

  topics(): TopicSpec[] {
    return [...this.#topics.values()];
  }
}

export function prefixed(prefix: string, topic: string): string {
  return `${prefix}${topic}`;
}
