import type { Command } from '../command.js';
import { probesCommand } from './probes.js';
import { provisionCommand } from './provision.js';
import { upCommand } from './up.js';

/** Every CLI command, in the order --help lists them. */
export const commands: Command[] = [provisionCommand, upCommand, probesCommand];
