import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const EnforcementConfigSchema = Type.Object({
  ...ServiceSettings,
});

export type EnforcementConfig = Static<typeof EnforcementConfigSchema>;
