import { Type, type Static } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { ServiceSettings } from '@hashcheck/runtime';
import { parseDuration } from './domain/duration';
import { buildLadder, DEFAULT_LADDER_STEPS, DEFAULT_REUPLOAD_START, parseLadderSteps, type Ladder } from './domain/ladder';
import type { DeadlinePolicyConfig } from './domain/policy';

const Duration = (dflt: string, description: string) => Type.String({ default: dflt, minLength: 1, description: `${description} (e.g. 90s, 30m, 24h, 7d)` });

export const EnforcementConfigSchema = Type.Object({
  ...ServiceSettings,
  DEADLINE_DEFAULT: Duration('24h', 'removal deadline when no category or order applies'),
  DEADLINE_BY_CATEGORY: Type.String({ default: '{}', description: 'JSON object: provider category -> deadline, e.g. {"cdn":"12h"}' }),
  ESCALATION_LADDER: Type.Optional(Type.String({ minLength: 2, description: 'JSON array of ladder steps; see docs/enforcement.md' })),
  REUPLOAD_START_STEP: Type.String({ default: DEFAULT_REUPLOAD_START, description: 'ladder step a re-upload case goes to when its first deadline passes' }),
  TIMER_POLL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  TIMER_LEASE_MS: Type.Integer({ minimum: 100, default: 30_000, description: 'how long a claimed timer is reserved for one instance' }),
  TIMER_BATCH: Type.Integer({ minimum: 1, default: 100, description: 'timers fired per poll at most' }),
  RETENTION_AFTER: Duration('180d', 'how long after closing a case its URLs, hosts and IP addresses are kept'),
  RETENTION_INTERVAL_MS: Type.Integer({ minimum: 0, default: 3_600_000, description: '0 disables the periodic retention job' }),
  ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 32, description: 'bootstrap administrator key: issues provider, hotline and regulator keys' })),
  INSTANCE_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  METRICS_REFRESH_MS: Type.Integer({ minimum: 0, default: 30_000, description: 'how old the open-case and overdue-timer counts may get before a metrics collection recounts them' }),
});

export type EnforcementConfig = Static<typeof EnforcementConfigSchema>;

/** The parsed form of the settings that are more than a scalar. */
export interface EnforcementSettings {
  policy: DeadlinePolicyConfig;
  ladder: Ladder;
  retentionAfterMs: number;
}

function invalid(variable: string, reason: string): HashCheckError {
  return new HashCheckError(ErrorCode.CONFIG_INVALID, `invalid configuration: ${variable} ${reason}`, { details: [`${variable} ${reason}`] });
}

/** Parses durations, the category map and the ladder; an error names the variable. */
export function enforcementSettings(config: EnforcementConfig): EnforcementSettings {
  const duration = (variable: keyof EnforcementConfig): number => {
    try {
      return parseDuration(String(config[variable]));
    } catch (err) {
      throw invalid(variable, (err as Error).message);
    }
  };
  let byCategoryMs: Record<string, number>;
  try {
    const raw = JSON.parse(config.DEADLINE_BY_CATEGORY) as unknown;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RangeError('must be a JSON object');
    byCategoryMs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, parseDuration(v as string)]));
  } catch (err) {
    throw invalid('DEADLINE_BY_CATEGORY', (err as Error).message);
  }
  let ladder: Ladder;
  try {
    const steps = config.ESCALATION_LADDER ? parseLadderSteps(config.ESCALATION_LADDER) : DEFAULT_LADDER_STEPS;
    ladder = buildLadder(steps, config.REUPLOAD_START_STEP);
  } catch (err) {
    throw invalid(config.ESCALATION_LADDER ? 'ESCALATION_LADDER' : 'REUPLOAD_START_STEP', (err as Error).message);
  }
  return { policy: { defaultMs: duration('DEADLINE_DEFAULT'), byCategoryMs }, ladder, retentionAfterMs: duration('RETENTION_AFTER') };
}
