import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const NotificationConfigSchema = Type.Object({
  ...ServiceSettings,
});

export type NotificationConfig = Static<typeof NotificationConfigSchema>;
