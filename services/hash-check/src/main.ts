import { loadConfigOrExit } from '@hashcheck/config';
import { boot, runService } from '@hashcheck/runtime';
import { buildApp, SERVICE } from './app';
import { HashCheckConfigSchema } from './config';

await boot(SERVICE, async () => {
  const config = loadConfigOrExit(HashCheckConfigSchema, SERVICE);
  const app = await buildApp(config);
  await runService(app, config);
});
