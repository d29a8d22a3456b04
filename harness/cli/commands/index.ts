import type { Command } from '../command.js';
import { cliCommand } from './cli.js';
import { conformanceCommand } from './conformance.js';
import { doctorCommand } from './doctor.js';
import { probesCommand } from './probes.js';
import { provisionCommand } from './provision.js';
import { upCommand } from './up.js';
import { runCommand } from './run.js';
import { scenariosCommand } from './scenarios.js';

/** Every CLI command, in the order --help lists them. */
export const commands: Command[] = [provisionCommand, upCommand, cliCommand, runCommand, scenariosCommand, probesCommand, conformanceCommand, doctorCommand];
