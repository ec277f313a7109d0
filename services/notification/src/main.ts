import { loadConfigOrExit } from '@hashcheck/config';
import { boot, runService } from '@hashcheck/runtime';
import { buildApp, SERVICE } from './app';
import { NotificationConfigSchema } from './config';

await boot(SERVICE, async () => {
  const config = loadConfigOrExit(NotificationConfigSchema, SERVICE);
  const app = await buildApp(config);
  await runService(app, config);
});
