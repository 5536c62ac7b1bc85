import { isLoopbackHost } from '../net';
import { cronProblem } from './cron-schedule';
import { type FieldPath, locationIn, type ManifestDocument } from './manifest-document';
import type { Manifest } from './manifest-types.generated';
import type { Problem, ProblemCode } from './problem';

/** One manifest that passed its schema (defaults filled in), with its source when it has one. */
export interface RuleSubject {
  readonly manifest: Manifest;
  /** `Kind/name`. */
  readonly id: string;
  /** The YAML document; absent for a manifest built in code (a Pulumi resource's inputs). */
  readonly source?: ManifestDocument | undefined;
}

export interface SingleManifestRuleOptions {
  /** The time zone destination cron schedules are read in: the declared Refresh's; default UTC. */
  readonly timezone?: string | undefined;
}

/**
 * The rules beyond the schema that one manifest can be checked against alone: consent, endpoints,
 * cron expressions and time zones. The Pulumi provider's `check` runs these on one resource;
 * `manifestRuleProblems` runs them on every loaded manifest, besides the rules across documents.
 * Problems carry a position only when the subject has a source.
 */
export function singleManifestRuleProblems(
  subject: RuleSubject,
  options: SingleManifestRuleOptions = {},
): Problem[] {
  const problems: Problem[] = [];
  const problem = (
    code: ProblemCode,
    path: FieldPath,
    message: string,
    hint?: string,
    severity: 'error' | 'warning' = 'error',
  ) => {
    problems.push({
      code,
      severity,
      message,
      ...(hint === undefined ? {} : { hint }),
      ...locationIn(subject.source, path),
      resource: subject.id,
      path: path.join('.'),
    });
  };
  const { manifest } = subject;

  switch (manifest.kind) {
    case 'Connection': {
      const { spec } = manifest;
      if (!spec.dataPrivacyConsent) {
        problem(
          'privacy-consent-required',
          ['spec', 'dataPrivacyConsent'],
          'dataPrivacyConsent must be true: exporting sends customer data to Constant Contact',
          'set dataPrivacyConsent: true once your organisation agrees to share this data with Constant Contact',
        );
      }
      for (const endpoint of ['api', 'token'] as const) {
        const parsed = safeUrl(spec.endpoints[endpoint]);
        if (parsed && parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
          problem(
            'insecure-endpoint',
            ['spec', 'endpoints', endpoint],
            `endpoints.${endpoint} uses plain http to ${parsed.hostname}: credentials would cross the network unencrypted`,
            'use https (plain http is allowed only for loopback hosts such as the local sandbox)',
          );
        } else if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
          problem(
            'invalid-format',
            ['spec', 'endpoints', endpoint],
            `endpoints.${endpoint} must be an http(s) URL, not ${parsed.protocol}`,
          );
        }
      }
      return problems;
    }
    case 'Refresh': {
      const reason = cronProblem(manifest.spec.cron, manifest.spec.timezone);
      if (reason) {
        const path = reason.startsWith('time zone') ? ['spec', 'timezone'] : ['spec', 'cron'];
        problem(
          'invalid-cron',
          path,
          `${path.join('.')}: ${reason}`,
          'use 5 fields (minute hour day month weekday), e.g. "0 */6 * * *", and an IANA zone such as Europe/Paris',
        );
      }
      return problems;
    }
    case 'ExportDestination': {
      const { schedule } = manifest.spec;
      if (schedule === 'refresh' || schedule === 'manual') return problems;
      const reason = cronProblem(schedule, options.timezone ?? 'UTC');
      if (reason) {
        problem(
          'invalid-cron',
          ['spec', 'schedule'],
          `schedule is not refresh, manual or a valid cron expression: ${reason}`,
          'use refresh, manual, or 5 cron fields such as "30 5 * * 1-5"',
        );
      }
      return problems;
    }
    case 'Access': {
      const notifications = manifest.spec.notifications;
      if (notifications && !notifications.webhook && !notifications.email)
        problem(
          'invalid-value',
          ['spec', 'notifications'],
          'notifications names neither a webhook nor an email: nothing would be sent',
          'add webhook: {url: {env: NAME}} and/or email: {host, from}',
          'warning',
        );
      const email = notifications?.email;
      if (email && (email.user === undefined) !== (email.password === undefined))
        problem(
          'missing-field',
          ['spec', 'notifications', 'email', email.user === undefined ? 'password' : 'user'],
          `notifications.email has ${email.user === undefined ? 'a password but no user' : 'a user but no password'}: SMTP authentication needs both`,
          'give both user and password: {env: NAME}, or neither for a relay that needs no login',
        );
      return problems;
    }
    case 'ProfileSource':
      return problems;
  }
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
