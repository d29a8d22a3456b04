/** The CLI's lazy command list names each command as its module does. */
import { describe, expect, it } from 'vitest';
import { commands } from '../harness/cli/commands/index.js';

describe('CLI command list', () => {
  it('each entry loads the module of that name, with the same summary', async () => {
    expect(commands.map((c) => c.name)).toEqual(['provision', 'up', 'cli', 'run', 'scenarios', 'probes', 'conformance', 'doctor']);
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
      expect(command.help.length).toBeGreaterThan(20);
    }
  });
});
