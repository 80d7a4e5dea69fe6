import yazl from 'yazl';

/** A ZIP as GitHub builds the run-logs archive: a folder per job, `N_step name.txt` per step. */
export function runLogsArchive(entries: Array<[string, string | Buffer]>): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const [name, content] of entries)
    archive.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { compress: true });
  archive.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    archive.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    archive.outputStream.on('error', reject);
  });
}
