import { loadConfigOrExit } from '@hashcheck/config';
import { boot, runService } from '@hashcheck/runtime';
import { buildApp, SERVICE } from './app';
import { IntakeConfigSchema } from './config';

await boot(SERVICE, async () => {
  const config = loadConfigOrExit(IntakeConfigSchema, SERVICE);
  const app = await buildApp(config);
  await runService(app, config);
});
