import { Command, CommanderError } from 'commander';
import { registerBoardsCommand } from './commands/boards';
import { registerBuildCommand } from './commands/build';
import { registerGatewayCommand } from './commands/gateway';
import { registerSimCommand } from './commands/sim';
import { registerFlashCommand } from './commands/flash';
import { registerConsoleCommand } from './commands/console';
import { registerDiagCommand } from './commands/diag';
import { registerConfigCommand } from './commands/config';
import { registerFleetCommand } from '../simulator/fleet/command';
import { registerStartCommand } from './commands/start';

/** Every command module registers itself here; keep the list in the order `udt --help` shows it. */
const commandRegistrations: Array<(program: Command) => void> = [
  registerBuildCommand,
  registerBoardsCommand,
  registerGatewayCommand,
  registerSimCommand,
  registerFlashCommand,
  registerConsoleCommand,
  registerDiagCommand,
  registerConfigCommand,
  registerFleetCommand,
  registerStartCommand,
];

export function createProgram(): Command {
  const program = new Command('udt')
    .description('NB-IoT universal data terminal: build and flash firmware, run the gateway and the simulator')
    .version(require('../package.json').version as string)
    .showHelpAfterError('(run `udt --help` for usage)');
  for (const register of commandRegistrations) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help or the usage error.
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
