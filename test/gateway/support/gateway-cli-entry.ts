/**
 * `udt gateway ...` with only the gateway command registered: bundled by gateway-process.ts into one file so a
 * child process starts in a fraction of a second (the SIGKILL test restarts it a hundred times). It runs the
 * same bin/commands/gateway.ts code as the real CLI.
 */
import { Command } from 'commander';
import { registerGatewayCommand } from '../../../bin/commands/gateway';

const program = new Command('udt');
registerGatewayCommand(program);
program.parseAsync(process.argv).catch((error: Error) => {
  process.stderr.write(`udt: ${error.message}\n`);
  process.exitCode = 1;
});
