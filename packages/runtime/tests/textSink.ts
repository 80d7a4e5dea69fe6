import { Writable } from 'node:stream';

/** A stream that collects what is written to it (a logger's destination); `text()` reads it all so far. */
export function textSink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}
