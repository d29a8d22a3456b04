#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isHarnessError } from '../common/errors.js';
import { EXIT_EXPECTATION_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE_OR_ENVIRONMENT, writeLine, type Command, type CommandIO } from './command.js';
import { commands } from './commands/index.js';
import { ExpectationFailed } from './expectation.js';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'regtest-harness — launch, trace and assert on Bitcoin Core regtest P2P networks',
    '',
    'Usage: regtest-harness <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'regtest-harness <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 an expectation failed, 2 usage or environment error, 130 interrupted (after cleaning up).',
  ].join('\n');
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    writeLine(io.stdout, topLevelHelp());
    return name === undefined ? EXIT_USAGE_OR_ENVIRONMENT : EXIT_OK;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    writeLine(io.stderr, `regtest-harness: unknown command '${name}' — run 'regtest-harness --help' to list the commands`);
    return EXIT_USAGE_OR_ENVIRONMENT;
  }
  const command: Command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, command.help);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (io.signal.aborted) {
      // Ctrl-C / SIGTERM: whatever was running has been disposed on the way out.
      writeLine(io.stderr, `regtest-harness ${command.name}: interrupted; everything it started has been stopped and removed`);
      return EXIT_INTERRUPTED;
    }
    if (error instanceof ExpectationFailed) {
      writeLine(io.stderr, error.report);
      return EXIT_EXPECTATION_FAILED;
    }
    if (isHarnessError(error)) {
      writeLine(io.stderr, `regtest-harness ${command.name}: ${error.oneLine}`);
      if (error.evidence && process.env.REGTEST_HARNESS_VERBOSE) writeLine(io.stderr, error.evidence);
      return EXIT_USAGE_OR_ENVIRONMENT;
    }
    throw error;
  }
}

/** Turn SIGINT/SIGTERM into an abort the running command sees, then a clean exit. */
function signalController(): AbortController {
  const controller = new AbortController();
  // Every concurrent wait (one per edge) listens on this signal; that is expected, not a leak.
  setMaxListeners(0, controller.signal);
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130); // a second Ctrl-C means "now"; the reaper still cleans up
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller;
}

/**
 * A reader that stopped reading (`regtest-harness scenarios | head -1`) makes the next write fail
 * with EPIPE, which Node throws as an unhandled 'error' event. The command keeps going without its
 * output and ends with its own exit code: a run's result still counts (`${PIPESTATUS[0]}`).
 */
function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

// In the bundle (scripts/bundle-cli.mjs) this module is the entry file, so import.meta.url is the
// bin's path; nothing else may import it, or esbuild would move it into a shared chunk and the
// check would never hold (test/cli-bundle.test.ts would then see no output).
const isEntryPoint = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntryPoint) {
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  const controller = signalController();
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`regtest-harness: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_USAGE_OR_ENVIRONMENT;
    });
}

export { EXIT_EXPECTATION_FAILED, EXIT_OK, EXIT_USAGE_OR_ENVIRONMENT };
