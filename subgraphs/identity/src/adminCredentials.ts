import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Name of the file, in the data folder, holding the first admin's generated credentials (development). */
export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.txt';

/**
 * Saves the first admin's generated email and password in `<dataDir>/admin-credentials.txt`, readable by the
 * owner only (mode 600, also when the file existed with wider rights), so a password printed once is not lost
 * with the terminal. Used by the one-process platform and by a standalone identity alike.
 * @returns the file's path
 */
export function saveAdminCredentials(dataDir: string, admin: { email: string; password: string }): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, ADMIN_CREDENTIALS_FILE);
  writeFileSync(file, `email: ${admin.email}\npassword: ${admin.password}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created.
  chmodSync(file, 0o600);
  return file;
}
