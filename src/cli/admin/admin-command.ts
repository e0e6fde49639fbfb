// What every admin verb (stamp, tenant, deploy, status) shares: the options that say which control
// plane to talk to and how to print (--api, --token, --data-dir, --json), the token lookup, and
// usage errors reported as one line `stampgate: …` with exit code 2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError, Option, type Command } from 'commander';
import { parseUrl } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';
import { AdminClient } from './admin-client.ts';

export const defaultApi = 'http://127.0.0.1:8080';

export interface ClientFlags {
  api: string;
  token?: string;
  dataDir: string;
  json: boolean;
}

/** Commander's usage errors (exit code 1 by default) exit with 2, as the CLI's own usage errors do. */
function usageExit(error: CommanderError): never {
  if (error.exitCode === 1) throw new CommanderError(2, error.code, error.message);
  throw error;
}

/** Usage errors as `stampgate: …` (exit 2), with a pointer to the help; inherited by the subcommands made after. */
export function reportUsageErrors(command: Command): Command {
  return command
    .exitOverride(usageExit)
    .configureOutput({ outputError: (text, write) => write(`stampgate: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError(`(run stampgate ${command.name()} --help for usage)`);
}

/** A group of admin verbs: `stampgate stamp …`, `stampgate tenant …`. */
export function adminGroup(program: Command, name: string, description: string): Command {
  return reportUsageErrors(program.command(name).description(description));
}

export function withClientOptions(command: Command): Command {
  const path = [command.parent?.parent ? command.parent.name() : undefined, command.name()].filter(Boolean).join(' ');
  return command
    .showHelpAfterError(`(run stampgate ${path} --help for usage)`)
    .addOption(new Option('--api <url>', 'the control plane\'s admin API').env('STAMPGATE_API').default(defaultApi).argParser(parseUrl(['http', 'https'])))
    .addOption(new Option('--token <token>', 'an admin token (viewer for reading); default: <data-dir>/admin-token').env('STAMPGATE_TOKEN'))
    .option('--data-dir <dir>', 'where `stampgate up` keeps the admin token', '.stampgate')
    .option('--json', 'print the API\'s JSON, for scripts', false);
}

/** --token (or STAMPGATE_TOKEN), else the admin-token file `stampgate up` writes; none is a usage error. */
export function resolveToken(flags: Pick<ClientFlags, 'token' | 'dataDir'>): string {
  if (flags.token !== undefined && flags.token !== '') return flags.token;
  const path = join(flags.dataDir, 'admin-token');
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token !== '') return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read the admin token in ${path}: ${(error as Error).message}`);
  }
  throw new UsageError(`no token: pass --token, set STAMPGATE_TOKEN, or run where ${path} exists (stampgate up writes it)`);
}

/** Runs `work` with a client of the control plane the flags name, closed afterwards. */
export async function withClient(flags: ClientFlags, work: (client: AdminClient) => Promise<void>): Promise<void> {
  const client = new AdminClient({ api: flags.api, token: resolveToken(flags) });
  try {
    await work(client);
  } finally {
    await client.close();
  }
}
