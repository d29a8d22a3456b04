import { Writable } from 'node:stream';
import { main } from '../../harness/cli/main.js';

/** Run the CLI in-process (the TypeScript sources) and collect what it prints. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await main(argv, { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)), signal: new AbortController().signal });
  return { code, stdout, stderr };
}
