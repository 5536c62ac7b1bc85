import type { FieldChange } from '../resources/field-changes';
import { canonicalJson } from '../state/spec-hash';
import { type Plan, type PlanAction, type PlannedChange, summarizePlan } from './plan';

const SYMBOL: Record<PlanAction, string> = { create: '+', update: '~', replace: '-/+', delete: '-' };

export interface RenderOptions {
  /** ANSI colours (a TTY without NO_COLOR). */
  readonly color?: boolean;
}

/** The closing line: `Plan: X to add, Y to change, Z to destroy.` or `No changes.` */
export function planSummaryLine(plan: Plan): string {
  if (plan.changes.length === 0) return 'No changes.';
  const { add, change, destroy } = summarizePlan(plan);
  return `Plan: ${add} to add, ${change} to change, ${destroy} to destroy.`;
}

/**
 * The refresh errors of a plan as lines for stderr (empty when it has none): per error `error: ID:
 * message (Reason)`, its hint, the resources not checked because of it, then one closing line that
 * says the `command` (plan or apply) failed for them and that `--no-refresh` skips the check.
 */
export function renderRefreshErrorsText(
  plan: Pick<Plan, 'refreshErrors'>,
  command: 'plan' | 'apply',
): string[] {
  const errors = plan.refreshErrors;
  if (errors.length === 0) return [];
  const lines: string[] = [];
  for (const error of errors) {
    lines.push(`error: ${error.id}: ${error.message} (${error.reason})`, `  hint: ${error.hint}`);
    if (error.dependents.length > 0)
      lines.push(`  not checked because of it: ${error.dependents.join(', ')}`);
  }
  const problems = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  lines.push(
    command === 'plan'
      ? `error: the refresh found ${problems} this plan does not fix: fix ${errors.length === 1 ? 'it' : 'them'} and plan again, or plan with --no-refresh to skip re-reading what is applied`
      : `error: the refresh found ${problems} this apply does not fix, so nothing was applied: fix ${errors.length === 1 ? 'it' : 'them'}, or apply with --no-refresh to skip re-reading what is applied`,
  );
  return lines;
}

/** Terraform-like text: one block per resource, changed fields old -> new, secrets `(sensitive)`. */
export function renderPlanText(plan: Plan, options: RenderOptions = {}): string {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const colorOf: Record<PlanAction, number> = { create: 32, update: 33, replace: 35, delete: 31 };
  const lines: string[] = [];
  if (plan.changes.length > 0) {
    lines.push('exportctl will perform the following actions:', '');
    for (const change of plan.changes) {
      const replacedBy =
        change.action === 'replace'
          ? change.fields.filter((field) => field.forcesReplacement).map((field) => field.path)
          : [];
      const note = replacedBy.length > 0 ? ` (${replacedBy.join(', ')} forces replacement)` : '';
      const where = change.declaredAt ? `  # ${change.declaredAt}` : '';
      lines.push(`  ${paint(colorOf[change.action], SYMBOL[change.action])} ${change.id}${note}${where}`);
      for (const field of change.fields) lines.push(`      ${renderField(change, field)}`);
      lines.push('');
    }
  }
  if (plan.drift.length > 0) {
    lines.push('Drift (remote state differs from what was applied):');
    for (const finding of plan.drift)
      lines.push(`  ! ${finding.id}: ${finding.condition} (${finding.reason}): ${finding.message}`);
    lines.push('');
  }
  if (plan.notDeclared.length > 0) {
    lines.push(`Not declared in PATH (kept; pass --prune to delete): ${plan.notDeclared.join(', ')}`, '');
  }
  for (const item of plan.skipped) lines.push(`Skipped ${item.id}: ${item.reason}`);
  if (plan.skipped.length > 0) lines.push('');
  lines.push(planSummaryLine(plan));
  return lines.join('\n');
}

function renderField(change: PlannedChange, field: FieldChange): string {
  const show = (value: unknown) =>
    field.sensitive ? '(sensitive)' : value === undefined ? '(none)' : canonicalJson(value);
  const replace = change.action === 'replace' && field.forcesReplacement ? '  # forces replacement' : '';
  if (change.action === 'create' || field.before === undefined)
    return `+ ${field.path}: ${show(field.after)}`;
  if (field.after === undefined) return `- ${field.path}: ${show(field.before)}`;
  if (field.sensitive) return `~ ${field.path}: (sensitive value changed)`;
  return `~ ${field.path}: ${show(field.before)} -> ${show(field.after)}${replace}`;
}

/** Markdown for a pull-request comment: a summary line, a table of changes, details folded. */
export function renderPlanMarkdown(plan: Plan): string {
  const lines: string[] = [];
  const summary = planSummaryLine(plan);
  lines.push(`### exportctl plan: ${summary.replace(/^Plan: /, '').replace(/\.$/, '')}`, '');
  if (plan.changes.length > 0) {
    lines.push('| | resource | changes |', '|---|---|---|');
    for (const change of plan.changes) {
      const fields =
        change.action === 'create'
          ? 'new'
          : change.action === 'delete'
            ? 'deleted'
            : change.fields
                .map(
                  (field) =>
                    `\`${field.path}\`${field.forcesReplacement && change.action === 'replace' ? ' (forces replacement)' : ''}`,
                )
                .join(', ');
      lines.push(`| \`${SYMBOL[change.action]}\` | \`${change.id}\` | ${fields} |`);
    }
    const details = renderPlanText({ ...plan, drift: [], refreshErrors: [], notDeclared: [], skipped: [] })
      .split('\n')
      .map(toDiffLine);
    lines.push('', '<details><summary>Details</summary>', '', '```diff', ...details, '```', '', '</details>');
  }
  if (plan.drift.length > 0) {
    lines.push('', '**Drift**', '');
    for (const finding of plan.drift)
      lines.push(`- ⚠️ \`${finding.id}\` is **${finding.condition}** (${finding.reason}): ${finding.message}`);
  }
  if (plan.refreshErrors.length > 0) {
    lines.push(
      '',
      '**The refresh failed**: this plan cannot be applied until these are fixed (or it is made with `--no-refresh`)',
      '',
    );
    for (const error of plan.refreshErrors)
      lines.push(
        `- ❌ \`${error.id}\` (${error.reason}): ${error.message.replace(/\.?$/, '.')} What to do: ${error.hint}`,
      );
  }
  if (plan.notDeclared.length > 0) {
    lines.push(
      '',
      `Not declared (kept; \`--prune\` deletes them): ${plan.notDeclared.map((id) => `\`${id}\``).join(', ')}`,
    );
  }
  for (const item of plan.skipped) lines.push('', `Skipped \`${item.id}\`: ${item.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The documented, stable JSON shape of a plan (`--output json`), version 1:
 * `{formatVersion, summary: {add, change, destroy}, changes: [{action, kind, name, id, declaredAt,
 * fields: [{path, before, after, sensitive, forcesReplacement}]}], drift: [{id, kind, name, condition,
 * reason, message, code?, hint?, cause?}], refreshErrors: [{id, kind, name, reason, message, code?,
 * hint, dependents}], notDeclared: [...], skipped: [...]}`. Fields are only ever added to version 1
 * (`refreshErrors`, and drift's `code`, `hint`, `cause`, came later). Sensitive values are replaced by
 * the string "(sensitive)".
 */
export function planJson(plan: Plan): Record<string, unknown> {
  return {
    formatVersion: 1,
    summary: summarizePlan(plan),
    changes: plan.changes.map((change) => ({
      action: change.action,
      kind: change.kind,
      name: change.name,
      id: change.id,
      declaredAt: change.declaredAt ?? null,
      fields: change.fields.map((field) => ({
        path: field.path,
        before: field.sensitive && field.before !== undefined ? '(sensitive)' : (field.before ?? null),
        after: field.sensitive && field.after !== undefined ? '(sensitive)' : (field.after ?? null),
        sensitive: field.sensitive,
        forcesReplacement: field.forcesReplacement,
      })),
    })),
    drift: plan.drift,
    refreshErrors: plan.refreshErrors,
    notDeclared: plan.notDeclared,
    skipped: plan.skipped,
  };
}

/**
 * GitHub colours a ```diff block by the first character of each line: `+` green, `-` red, `!`
 * highlighted. Move each change symbol to column 0, updates and replacements as `!`.
 */
function toDiffLine(line: string): string {
  const match = /^(\s*)(-\/\+|[+~-]) (.*)$/.exec(line);
  if (!match) return line;
  const [, indent = '', symbol = '', rest = ''] = match;
  const mark = symbol === '+' ? '+' : symbol === '-' ? '-' : '!';
  return `${mark}${indent.slice(1)}${symbol === '-/+' ? '-/+' : symbol} ${rest}`;
}
