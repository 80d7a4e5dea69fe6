import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_CREDENTIALS_FILE, saveAdminCredentials } from '../src/index.js';

describe('saveAdminCredentials', () => {
  it('writes email and password to <DATA_DIR>/admin-credentials.txt readable by the owner only, creating the folder, narrowing an existing file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cap-admin-'));
    try {
      const dataDir = join(root, 'nested', 'data');
      const file = saveAdminCredentials(dataDir, { email: 'admin@example.com', password: 'pw-1' });
      expect(file).toBe(join(dataDir, ADMIN_CREDENTIALS_FILE));
      expect(await readFile(file, 'utf8')).toBe('email: admin@example.com\npassword: pw-1\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);

      await writeFile(file, 'stale', { mode: 0o644 });
      saveAdminCredentials(dataDir, { email: 'admin@example.com', password: 'pw-2' });
      expect(await readFile(file, 'utf8')).toBe('email: admin@example.com\npassword: pw-2\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
