import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const IntakeConfigSchema = Type.Object({
  ...ServiceSettings,
});

export type IntakeConfig = Static<typeof IntakeConfigSchema>;
