import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** The one envelope every event travels in. `id` is the idempotency key; `subject` is the Kafka key. */
export const EnvelopeSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.String({ pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$' }),
    version: Type.Integer({ minimum: 1 }),
    occurredAt: Type.String({ format: 'date-time' }),
    source: Type.String({ minLength: 1, maxLength: 200 }),
    subject: Type.String({ minLength: 1, maxLength: 500 }),
    data: Type.Unknown(),
  },
  { additionalProperties: false },
);

export interface EventEnvelope<T = unknown> {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  source: string;
  subject: string;
  data: T;
}

/** One event type at one major version: its name, its data schema and the topic it travels on. */
export interface EventDefinition<S extends TSchema = TSchema> {
  readonly type: string;
  readonly version: number;
  readonly topic: string;
  readonly schema: S;
  readonly description: string;
}

export type EventData<D> = D extends EventDefinition<infer S> ? Static<S> : never;
export type EventOf<D> = EventEnvelope<EventData<D>>;

export function defineEvent<S extends TSchema>(def: EventDefinition<S>): EventDefinition<S> {
  return Object.freeze(def);
}

export interface CreateEventInput<T> {
  subject: string;
  data: T;
  source: string;
  /** Pass a deterministic id when the same fact may be produced twice (replays, retries). */
  id?: string;
  occurredAt?: Date | string;
}

export function createEvent<S extends TSchema>(def: EventDefinition<S>, input: CreateEventInput<Static<S>>): EventEnvelope<Static<S>> {
  const occurredAt = input.occurredAt === undefined ? new Date() : new Date(input.occurredAt);
  return {
    id: input.id ?? randomUUID(),
    type: def.type,
    version: def.version,
    occurredAt: occurredAt.toISOString(),
    source: input.source,
    subject: input.subject,
    data: input.data,
  };
}
