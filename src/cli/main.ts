// The `stampgate` command: argument parsing only; the work is done by the layers below.
import { Command, CommanderError } from 'commander';
import { registerDeployCommand, registerUndeployCommand } from './commands/deploy.ts';
import { registerGatewayCommand } from './commands/gateway.ts';
import { registerStampCommand } from './commands/stamp.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerTenantCommand } from './commands/tenant.ts';
import { registerUpCommand } from './commands/up.ts';
import { UsageError } from './usage-error.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('stampgate')
    .description('Run an application as Deployment Stamps: a gateway, stamps and a control plane.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run stampgate --help for usage)')
    .exitOverride();
  registerUpCommand(program);
  registerGatewayCommand(program);
  registerStampCommand(program);
  registerTenantCommand(program);
  registerStatusCommand(program);
  registerDeployCommand(program);
  registerUndeployCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (help, version or a usage error).
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof UsageError) {
      console.error(`stampgate: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`stampgate: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
