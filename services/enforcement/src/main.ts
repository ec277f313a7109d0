import { loadConfigOrExit } from '@hashcheck/config';
import { boot, runService } from '@hashcheck/runtime';
import { buildApp, SERVICE } from './app';
import { EnforcementConfigSchema } from './config';

await boot(SERVICE, async () => {
  const config = loadConfigOrExit(EnforcementConfigSchema, SERVICE);
  const app = await buildApp(config);
  await runService(app, config);
});
