import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ErrorCode } from '@hashcheck/errors';
import { EnvelopeSchema, type EventEnvelope, type EventDefinition } from './envelope';
import type { EventRegistry } from './registry';

// ajv-formats is CommonJS; its default export arrives nested under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export interface DecodeFailure {
  code: typeof ErrorCode.EVENT_DECODE | typeof ErrorCode.EVENT_SCHEMA;
  reasons: string[];
  /** Present when the envelope parsed, so a rejection can still name the event. */
  envelope?: Partial<EventEnvelope>;
}

export type DecodeResult<T = unknown> = { ok: true; event: EventEnvelope<T> } | { ok: false; error: DecodeFailure };

/** Upper bound on one event; anything larger is refused before JSON.parse sees it. */
export const MAX_EVENT_BYTES = 1_048_576;

function reasonsOf(errors: ErrorObject[] | null | undefined, prefix: string): string[] {
  return (errors ?? []).map((e) => {
    const where = `${prefix}${e.instancePath}`.replace(/\/$/, '') || prefix || '/';
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
}

/** Validates and (de)serialises events against a registry. Never throws on bad input: returns a result. */
export class EventCodec {
  readonly #ajv: Ajv;
  readonly #envelope: ValidateFunction;
  readonly #data = new Map<string, ValidateFunction>();

  constructor(readonly registry: EventRegistry) {
    this.#ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
    this.#envelope = this.#ajv.compile(EnvelopeSchema);
  }

  #validatorFor(def: EventDefinition): ValidateFunction {
    const key = `${def.type}.v${def.version}`;
    let v = this.#data.get(key);
    if (!v) {
      v = this.#ajv.compile(def.schema);
      this.#data.set(key, v);
    }
    return v;
  }

  validate(event: unknown): DecodeResult {
    if (!this.#envelope(event)) {
      return { ok: false, error: { code: ErrorCode.EVENT_SCHEMA, reasons: reasonsOf(this.#envelope.errors, ''), envelope: partial(event) } };
    }
    const env = event as EventEnvelope;
    const def = this.registry.get(env.type, env.version);
    if (!def) {
      return { ok: false, error: { code: ErrorCode.EVENT_SCHEMA, reasons: [`unknown event type ${env.type} v${env.version}`], envelope: env } };
    }
    const validateData = this.#validatorFor(def);
    if (!validateData(env.data)) {
      return { ok: false, error: { code: ErrorCode.EVENT_SCHEMA, reasons: reasonsOf(validateData.errors, '/data'), envelope: env } };
    }
    return { ok: true, event: env };
  }

  encode(event: EventEnvelope): Buffer {
    const result = this.validate(event);
    if (!result.ok) {
      // Producing an invalid event is a programming error, not bad input.
      throw new Error(`refusing to encode invalid event ${event.type} v${event.version}: ${result.error.reasons.join('; ')}`);
    }
    return Buffer.from(JSON.stringify(event));
  }

  decode(bytes: Buffer | Uint8Array | string | null | undefined): DecodeResult {
    if (bytes === null || bytes === undefined || bytes.length === 0) {
      return { ok: false, error: { code: ErrorCode.EVENT_DECODE, reasons: ['empty message'] } };
    }
    if (bytes.length > MAX_EVENT_BYTES) {
      return { ok: false, error: { code: ErrorCode.EVENT_DECODE, reasons: [`message of ${bytes.length} bytes exceeds ${MAX_EVENT_BYTES}`] } };
    }
    let text: string;
    try {
      text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, error: { code: ErrorCode.EVENT_DECODE, reasons: ['message is not valid UTF-8'] } };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: { code: ErrorCode.EVENT_DECODE, reasons: [`message is not valid JSON: ${(err as Error).message}`] } };
    }
    return this.validate(parsed);
  }
}

function partial(value: unknown): Partial<EventEnvelope> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const out: Partial<EventEnvelope> = {};
  if (typeof v.id === 'string') out.id = v.id;
  if (typeof v.type === 'string') out.type = v.type;
  if (typeof v.subject === 'string') out.subject = v.subject;
  if (typeof v.source === 'string') out.source = v.source;
  return out;
}
