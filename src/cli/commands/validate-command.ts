import { relative } from 'node:path';
import { plural } from '../../text';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';

/**
 * `exportctl validate [PATH...]`: parse, schema, references, permissions; no state touched.
 * Exit 0 when valid (warnings allowed), 1 with one line per problem otherwise.
 */
export async function validateCommand(
  paths: string[],
  options: GlobalOptions,
  context: CliContext,
): Promise<number> {
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const {
    formatProblemMarkdown,
    formatProblemText,
    hasErrors,
    loadManifests,
    problemJson,
    resolveActor,
    summarizeProblems,
  } = require('../../config') as typeof import('../../config');
  const actor = resolveActor(options.as, context.env, context.cwd);
  // An identity inferred from git is a guess at who will apply: its denials are warnings. One named
  // on purpose (--as, EXPORTCTL_ACTOR) is the question asked: its denials are errors.
  const deniedSeverity = actor.source === 'flag' || actor.source === 'env' ? 'error' : 'warning';
  const result = loadManifests(paths, {
    cwd: context.cwd,
    actor: actor.identity,
    mode: 'validate',
    deniedSeverity,
  });
  const valid = !hasErrors(result.problems);
  const { stdout } = context;
  const unparsed = result.unparsedFiles.length;
  const counted = `${plural(result.manifests.length, 'manifest')} in ${plural(result.files.length, 'file')}${unparsed > 0 ? `, ${unparsed} did not parse` : ''}`;

  if (options.output === 'json') {
    const body = {
      valid,
      actor: actor.identity ?? null,
      files: result.files.map((file) => relative(context.cwd, file)),
      unparsedFiles: result.unparsedFiles.map((file) => relative(context.cwd, file)),
      manifests: result.manifests.map((item) => ({
        kind: item.kind,
        name: item.name,
        file: relative(context.cwd, item.source.file),
        line: item.source.locate([]).line,
      })),
      problems: result.problems.map((problem) => problemJson(problem, context.cwd)),
    };
    writeLine(stdout, JSON.stringify(body, null, 2));
  } else if (options.output === 'markdown') {
    writeLine(
      stdout,
      valid
        ? `### ✅ ${plural(result.manifests.length, 'manifest')} ${result.manifests.length === 1 ? 'is' : 'are'} valid`
        : `### ❌ The manifests do not validate (${counted})`,
    );
    if (result.problems.length > 0) writeLine(stdout);
    for (const problem of result.problems) writeLine(stdout, formatProblemMarkdown(problem, context.cwd));
  } else {
    for (const problem of result.problems) writeLine(stdout, formatProblemText(problem, context.cwd));
    writeLine(
      stdout,
      valid
        ? `${counted}: valid (${summarizeProblems(result.problems)})`
        : `${counted}: ${summarizeProblems(result.problems)}`,
    );
  }
  return valid ? ExitCode.Success : ExitCode.Error;
}

export const registerValidateCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('validate'), ['as', 'output'])
    .description('parse, schema, references and permissions; no state touched')
    .argument('[path...]', 'manifest files or folders (default: the current folder)')
    .action(action((command) => validateCommand(command.args, globals(command), context)));
};
