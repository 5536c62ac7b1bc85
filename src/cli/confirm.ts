import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors';
import type { CliContext } from './cli-context';

/**
 * Asks on the terminal before changing anything, Terraform-style: only `yes` goes on. Without a
 * terminal there is nobody to ask, so it refuses unless `--auto-approve` was given.
 */
export async function confirmChanges(
  context: CliContext,
  question: string,
  autoApprove: boolean,
): Promise<boolean> {
  if (autoApprove) return true;
  if (!context.stdin.isTTY) {
    throw new UsageError(
      'confirmation-required',
      'refusing to make changes without confirmation: there is no terminal to ask',
      {
        hint: 'review the plan, then run again with --auto-approve (as CI does after a reviewed plan)',
      },
    );
  }
  const readline = createInterface({ input: context.stdin, output: context.stdout });
  try {
    const answer = await readline.question(
      `${question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `,
    );
    return answer.trim() === 'yes';
  } finally {
    readline.close();
  }
}
