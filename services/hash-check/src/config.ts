import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const HashCheckConfigSchema = Type.Object({
  ...ServiceSettings,
});

export type HashCheckConfig = Static<typeof HashCheckConfigSchema>;
