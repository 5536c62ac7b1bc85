import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AccessSpec, Notifications, SecretReference } from '../../config';
import { resolveSecretReference } from '../../config/secret-reference';
import { type AppliedResource, resourceState, stateReason } from '../../state';
import type { RunOutcome } from '../run-coordinator';

/** One message: a change of state worth telling the administrators about. */
export interface WatchNotification {
  /** Slack's and Teams' incoming webhooks show this. */
  readonly text: string;
  readonly event: 'run-failed' | 'run-paused' | 'stalled' | 'recovered';
  /** `ExportDestination/NAME`, `Connection/NAME`…, or `run of NAME`. */
  readonly resource: string;
  readonly destination: string | null;
  readonly reason: string;
  readonly hint: string | null;
  readonly at: string;
}

export interface WatchNotifierOptions {
  readonly env: NodeJS.ProcessEnv;
  /** A relative `{file}` reference is relative to this folder. */
  readonly cwd: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Attempts per message and channel (default 5). */
  readonly attempts?: number;
  /** The first retry's wait; doubled each time (default 2 s). */
  readonly backoffMs?: number;
  /** Per attempt (default 10 s). */
  readonly timeoutMs?: number;
}

interface Target {
  readonly notifications: Notifications;
  readonly administrators: readonly string[];
}

/**
 * Tells the administrators (Access `spec.notifications`) when a run fails or pauses, when a
 * resource becomes Stalled, and when either recovers: one message per change of state (the same
 * failure again, or a Stalled seen again by the next drift check, sends nothing). Messages go out
 * in the background with retries and backoff: delivery never holds a run or a reconcile up, and a
 * channel that keeps failing is logged, without the webhook URL or any password.
 */
export class WatchNotifier {
  private target: Target | undefined;
  private readonly states = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: WatchNotifierOptions) {}

  /** Follows the applied Access (its notifications and administrators); none: nothing is sent. */
  configure(resources: readonly AppliedResource[]): void {
    const access = resources.find((resource) => resource.kind === 'Access');
    const spec = access?.spec as unknown as AccessSpec | undefined;
    this.target = spec?.notifications
      ? { notifications: spec.notifications, administrators: spec.administrators }
      : undefined;
  }

  /** A run ended (watch's run coordinator). */
  runFinished(destination: string, outcome: RunOutcome): void {
    const key = `run/${destination}`;
    const resource = `run of ${destination}`;
    if (outcome.status === 'succeeded') {
      this.change(key, 'ok', () => ({
        event: 'recovered',
        resource,
        destination,
        reason: 'the run succeeded again',
        hint: null,
        text: `✅ exportctl: ${destination} recovered: its run succeeded again`,
      }));
      return;
    }
    // A run watch itself stopped (shutdown) resumes at the next start: not a failure to report.
    if (
      outcome.status === 'aborted' ||
      (outcome.status === 'paused' && outcome.message?.startsWith('stopped'))
    )
      return;
    const reason = outcome.message ?? outcome.status;
    const event = outcome.status === 'paused' ? 'run-paused' : 'run-failed';
    const hint = outcome.hint ?? `exportctl runs ${destination} shows the run and its row issues`;
    this.change(key, `${event}:${reason}`, () => ({
      event,
      resource,
      destination,
      reason,
      hint,
      text: `❌ exportctl: the run of ${destination} ${outcome.status === 'paused' ? 'paused' : 'failed'}: ${reason}\nWhat to do: ${hint}`,
    }));
  }

  /** The applied resources after a reconcile or a drift check: Stalled ones and recoveries. */
  observe(resources: readonly AppliedResource[]): void {
    this.configure(resources);
    for (const resource of resources) {
      const id = `${resource.kind}/${resource.name}`;
      const destination = resource.kind === 'ExportDestination' ? resource.name : null;
      if (resourceState(resource) === 'Stalled') {
        const why = stateReason(resource);
        const reason = why ? `${why.reason}: ${why.message}` : 'Stalled';
        const hint =
          'fix what the reason says, then exportctl plan shows the repair (watch applies it on the next change)';
        this.change(id, `stalled:${why?.reason ?? ''}`, () => ({
          event: 'stalled',
          resource: id,
          destination,
          reason,
          hint,
          text: `⚠️ exportctl: ${id} is Stalled: ${reason}\nWhat to do: ${hint}`,
        }));
      } else if (resourceState(resource) === 'Ready') {
        this.change(id, 'ok', () => ({
          event: 'recovered',
          resource: id,
          destination,
          reason: 'Ready again',
          hint: null,
          text: `✅ exportctl: ${id} recovered: Ready again`,
        }));
      }
    }
  }

  /** Waits for the messages on their way (at most `timeoutMs`). */
  async settle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Records `key`'s new state; sends a message when it changed, except for a first sighting of
   * the good state (nothing was wrong before watch started).
   */
  private change(key: string, state: string, message: () => Omit<WatchNotification, 'at'>): void {
    const previous = this.states.get(key);
    this.states.set(key, state);
    if (previous === state || (previous === undefined && state === 'ok')) return;
    const target = this.target;
    if (!target) return;
    const full: WatchNotification = {
      ...message(),
      at: new Date((this.options.now ?? Date.now)()).toISOString(),
    };
    const work: Promise<void>[] = [];
    if (target.notifications.webhook)
      work.push(this.deliver('webhook', full, () => this.postWebhook(target, full)));
    if (target.notifications.email)
      work.push(this.deliver('email', full, () => this.sendEmail(target, full)));
    for (const item of work) {
      this.inFlight.add(item);
      void item.finally(() => this.inFlight.delete(item));
    }
  }

  private async deliver(
    channel: 'webhook' | 'email',
    message: WatchNotification,
    send: () => Promise<void>,
  ): Promise<void> {
    const attempts = this.options.attempts ?? 5;
    const backoffMs = this.options.backoffMs ?? 2000;
    const fields = { channel, event: message.event, resource: message.resource };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await send();
        this.options.logger.info(
          fields,
          `notification sent (${channel}): ${message.event} ${message.resource}`,
        );
        return;
      } catch (error) {
        const why = error instanceof NotificationError ? error.message : describe(error);
        if (attempt >= attempts || (error instanceof NotificationError && !error.retry)) {
          this.options.logger.error(
            { ...fields, attempts: attempt },
            `notification not delivered (${channel}) after ${attempt} attempt(s): ${why}`,
          );
          return;
        }
        const wait = backoffMs * 2 ** (attempt - 1);
        this.options.logger.warn(
          { ...fields, attempt, retryInMs: wait },
          `notification not delivered (${channel}): ${why}; retrying in ${wait} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
      }
    }
  }

  private secret(reference: SecretReference, field: string): string {
    try {
      return resolveSecretReference(reference, join(this.options.cwd, 'Access'), this.options.env, {
        field: `Access ${field}`,
      });
    } catch (error) {
      throw new NotificationError(error instanceof Error ? error.message : String(error), false);
    }
  }

  private async postWebhook(target: Target, message: WatchNotification): Promise<void> {
    const url = this.secret(
      target.notifications.webhook?.url as SecretReference,
      'notifications.webhook.url',
    );
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      // fetch's own message names the URL in some versions: only the cause's code is told.
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new NotificationError(`the webhook could not be reached (${code})`, true);
    }
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok)
      throw new NotificationError(
        `the webhook answered HTTP ${response.status}`,
        response.status >= 500 || response.status === 429,
      );
  }

  private async sendEmail(target: Target, message: WatchNotification): Promise<void> {
    const email = target.notifications.email;
    if (!email) return;
    const password = email.password ? this.secret(email.password, 'notifications.email.password') : undefined;
    const { createTransport } = require('nodemailer') as typeof import('nodemailer');
    const transport = createTransport({
      host: email.host,
      port: email.port,
      secure: email.secure,
      ...(email.user && password ? { auth: { user: email.user, pass: password } } : {}),
      connectionTimeout: this.options.timeoutMs ?? 10_000,
      greetingTimeout: this.options.timeoutMs ?? 10_000,
      socketTimeout: this.options.timeoutMs ?? 10_000,
    });
    try {
      await transport.sendMail({
        from: email.from,
        to: [...new Set([...target.administrators, ...(email.to ?? [])])],
        subject: `exportctl: ${message.event} ${message.resource}`,
        text: `${message.text}\n\nResource: ${message.resource}\nDestination: ${message.destination ?? '-'}\nReason: ${message.reason}\nHint: ${message.hint ?? '-'}\nAt: ${message.at}\n`,
      });
    } catch (error) {
      const code = (error as { code?: string; responseCode?: number }).responseCode;
      throw new NotificationError(
        `the SMTP server ${email.host}:${email.port} refused or failed: ${(error as { code?: string }).code ?? 'error'}${code ? ` ${code}` : ''}`,
        // 4xx: try again later; 5xx: refused for good.
        code === undefined || code < 500,
      );
    } finally {
      transport.close();
    }
  }
}

class NotificationError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.name : 'error';
}
