import { relative, resolve } from 'node:path';
import { Option } from 'commander';
import { UsageError } from '../../errors';
import type { SandboxFaultRates, SandboxHandle } from '../../sandbox';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseWholeNumber } from '../parse-duration';

/** The flags of `exportctl sandbox`, as commander parses them. */
export interface SandboxCommandOptions {
  readonly port: string;
  readonly seed?: string;
  readonly stateFile?: string;
  readonly accessTokenTtl?: string;
  readonly rotateRefreshTokens: boolean;
  readonly requestsPerSecond?: string;
  readonly requestsPerDay?: string;
  readonly randomSeed?: string;
  readonly faultSeed?: string;
  readonly faultReset?: string;
  readonly fault500?: string;
  readonly fault503?: string;
  readonly fault429?: string;
  readonly faultTokenExpiry?: string;
  readonly faultSlow?: string;
  readonly faultTokenSlow?: string;
  readonly faultPerRoute?: boolean;
  readonly slowMs?: string;
}

function integer(name: string, value: string | undefined, minimum: number): number | undefined {
  return value === undefined ? undefined : parseWholeNumber(value, `--${name}`, minimum);
}

function rate(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || number > 1) {
    throw new UsageError('invalid-option', `--${name} must be a rate between 0 and 1, not ${value}`);
  }
  return number;
}

/**
 * `exportctl sandbox`: starts the local Constant Contact simulator, prints where it listens, and
 * serves until `stop` resolves (SIGINT or SIGTERM for the real CLI). Exit 0 after a clean stop.
 */
export async function sandboxCommand(
  options: SandboxCommandOptions,
  globals: GlobalOptions,
  context: CliContext,
  stop: Promise<unknown>,
): Promise<number> {
  const { defaultSeedFile, readSandboxSeed, startSandbox } =
    require('../../sandbox') as typeof import('../../sandbox');
  const seedFile = options.seed ? resolve(context.cwd, options.seed) : defaultSeedFile();
  const faults: SandboxFaultRates = Object.fromEntries(
    Object.entries({
      seed: integer('fault-seed', options.faultSeed, 0),
      connectionReset: rate('fault-reset', options.faultReset),
      serverError: rate('fault-500', options.fault500),
      unavailable: rate('fault-503', options.fault503),
      throttled: rate('fault-429', options.fault429),
      tokenExpiry: rate('fault-token-expiry', options.faultTokenExpiry),
      slow: rate('fault-slow', options.faultSlow),
      tokenSlow: rate('fault-token-slow', options.faultTokenSlow),
      perRoute: options.faultPerRoute,
      slowMs: integer('slow-ms', options.slowMs, 0),
    }).filter(([, value]) => value !== undefined),
  );
  const ttl = integer('access-token-ttl', options.accessTokenTtl, 1);
  const requestsPerSecond = integer('requests-per-second', options.requestsPerSecond, 1);
  const requestsPerDay = integer('requests-per-day', options.requestsPerDay, 1);
  const randomSeed = integer('random-seed', options.randomSeed, 0);
  const sandbox: SandboxHandle = await startSandbox({
    port: integer('port', options.port, 0) ?? 8787,
    seed: readSandboxSeed(seedFile),
    clientLimits: {
      ...(requestsPerSecond === undefined ? {} : { requestsPerSecond }),
      ...(requestsPerDay === undefined ? {} : { requestsPerDay }),
    },
    ...(options.stateFile ? { stateFile: resolve(context.cwd, options.stateFile) } : {}),
    ...(ttl === undefined ? {} : { accessTokenTtlSeconds: ttl }),
    rotateRefreshTokens: options.rotateRefreshTokens,
    ...(randomSeed === undefined ? {} : { randomSeed }),
    faults,
  });
  const shown = {
    url: sandbox.url,
    apiUrl: sandbox.apiUrl,
    tokenUrl: sandbox.tokenUrl,
    inspectUrl: `${sandbox.url}/__sandbox/stats`,
    seed: relative(context.cwd, seedFile).startsWith('..') ? seedFile : relative(context.cwd, seedFile),
    stateFile: options.stateFile ?? null,
  };
  if (globals.output === 'json') writeLine(context.stdout, JSON.stringify(shown));
  else {
    writeLine(context.stdout, `Constant Contact sandbox listening on ${sandbox.url}`);
    writeLine(context.stdout, `  api:      ${shown.apiUrl}`);
    writeLine(context.stdout, `  token:    ${shown.tokenUrl}`);
    writeLine(context.stdout, `  inspect:  ${shown.inspectUrl}`);
    writeLine(context.stdout, `  seed:     ${shown.seed}`);
    writeLine(
      context.stdout,
      options.stateFile
        ? `  state:    ${options.stateFile} (tokens and data survive a restart)`
        : '  state:    in memory; after a restart, run exportctl connection reauthorize NAME for each connection (or use --state-file)',
    );
    writeLine(context.stdout, 'Stop with Ctrl+C.');
  }
  await stop;
  await sandbox.close();
  return ExitCode.Success;
}

export const registerSandboxCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('sandbox'), ['output'])
    .description('a local Constant Contact API simulator for rehearsals and tests')
    .option('--port <n>', 'port on 127.0.0.1 (0: a free one)', '8787')
    .option('--seed <file>', 'seed data (default: config-examples/quickstart/sandbox-seed.json)')
    .option('--state-file <path>', 'keep tokens, lists and contacts in this file across restarts')
    .option('--access-token-ttl <seconds>', 'access token lifetime (default 86400)')
    .option('--no-rotate-refresh-tokens', 'long-lived refresh tokens instead of rotating ones')
    .option('--requests-per-second <n>', "every client's per-second limit (default: the seed's, else 4)")
    .option('--requests-per-day <n>', "every client's daily quota (default: the seed's, else 10000)")
    .addOption(
      new Option(
        '--random-seed <n>',
        'seed of the PRNG for list, activity and contact IDs (default 20261122)',
      ),
    )
    .addOption(new Option('--fault-seed <n>', 'seed of the fault injection PRNG (default 1)'))
    .addOption(new Option('--fault-reset <rate>', 'rate of connections reset without an answer'))
    .addOption(new Option('--fault-500 <rate>', 'rate of 500 answers'))
    .addOption(new Option('--fault-503 <rate>', 'rate of 503 answers'))
    .addOption(new Option('--fault-429 <rate>', 'rate of extra 429 throttled answers'))
    .addOption(new Option('--fault-token-expiry <rate>', 'rate of access tokens revoked early (401)'))
    .addOption(new Option('--fault-slow <rate>', 'rate of answers delayed by --slow-ms after processing'))
    .addOption(
      new Option(
        '--fault-token-slow <rate>',
        'rate of granted tokens whose answer waits --slow-ms (rotated already)',
      ),
    )
    .addOption(new Option('--fault-per-route', "draw each route's faults from a PRNG of its own"))
    .addOption(new Option('--slow-ms <ms>', 'delay of slow answers (default 2000)'))
    .action(
      action((command) => {
        const stop = new Promise((resolveStop) => {
          process.once('SIGINT', resolveStop);
          process.once('SIGTERM', resolveStop);
        });
        return sandboxCommand(command.opts<SandboxCommandOptions>(), globals(command), context, stop);
      }),
    );
};
