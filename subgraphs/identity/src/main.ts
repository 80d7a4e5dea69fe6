import { runSubgraphProcess } from '@cap/host';
import { saveAdminCredentials } from './adminCredentials.js';
import { startIdentity } from './app.js';
import { loadConfig } from './config.js';

/** Identity process entry (distributed deployment): the shared process shape of `@cap/host`, then the first admin. */
const { config, running: identity } = await runSubgraphProcess({
  service: 'identity',
  loadConfig: () => loadConfig(),
  start: startIdentity,
});
if (identity.bootstrappedAdmin?.generated) {
  const file = saveAdminCredentials(config.DATA_DIR, identity.bootstrappedAdmin);
  process.stdout.write(
    `\nFirst start: created admin ${identity.bootstrappedAdmin.email} with password ${identity.bootstrappedAdmin.password}\n` +
      `It is shown only this once (and saved in ${file}, readable by you only).\n\n`,
  );
}
