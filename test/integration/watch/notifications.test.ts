import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedResource } from '../../../src/state';
import { WatchNotifier } from '../../../src/watch';

const webhookSecret = 'T000/B000/hook-secret-0123456789';
const smtpPassword = 'smtp-password-0123456789';

/** A local webhook receiver: answers 500 to the first POST (to exercise the retry), then 200. */
async function webhookReceiver() {
  const bodies: Record<string, unknown>[] = [];
  let posts = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      posts += 1;
      if (posts === 1) {
        response.writeHead(500).end();
        return;
      }
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/${webhookSecret}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A local SMTP server that requires the login and keeps each message's raw text. */
async function smtpReceiver() {
  const mails: { to: string[]; text: string }[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'notifier' && auth.password === smtpPassword)
        callback(null, { user: 'notifier' });
      else callback(new Error('bad login'));
    },
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      stream.on('end', () => {
        // The body is quoted-printable: undo the soft line breaks and =XX escapes.
        const decoded = Buffer.from(
          text
            .replace(/=\r?\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          'latin1',
        ).toString('utf8');
        mails.push({ to: session.envelope.rcptTo.map((item) => item.address), text: decoded });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function resource(
  kind: AppliedResource['kind'],
  name: string,
  spec: unknown,
  stalled?: string,
): AppliedResource {
  return {
    kind,
    name,
    owner: 'exportctl',
    spec: spec as AppliedResource['spec'],
    specHash: 'sha256:x',
    generation: 1,
    conditions: stalled
      ? [
          {
            type: 'Stalled',
            status: true,
            reason: 'ListNotFound',
            message: stalled,
            lastTransitionTime: 0,
            observedGeneration: 1,
          },
        ]
      : [
          {
            type: 'Ready',
            status: true,
            reason: 'Applied',
            message: 'applied',
            lastTransitionTime: 0,
            observedGeneration: 1,
          },
        ],
    remoteFacts: undefined,
    createdAt: 0,
    updatedAt: 0,
  } as AppliedResource;
}

describe('watch notifications (a local webhook receiver and a local SMTP server)', () => {
  let webhook: Awaited<ReturnType<typeof webhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
  let log = '';
  beforeAll(async () => {
    webhook = await webhookReceiver();
    smtp = await smtpReceiver();
  });
  afterAll(async () => {
    await webhook.close();
    await smtp.close();
  });

  it('sends one message per change of state, with the destination, reason and hint, and no secret', async () => {
    const notifier = new WatchNotifier({
      env: { HOOK_URL: webhook.url, SMTP_PASSWORD: smtpPassword },
      cwd: process.cwd(),
      logger: pino(
        { level: 'debug' },
        new Writable({
          write: (chunk, _e, done) => {
            log += String(chunk);
            done();
          },
        }),
      ),
      backoffMs: 20,
      timeoutMs: 5_000,
    });
    const access = resource('Access', 'default', {
      administrators: ['admin@example.com'],
      contributors: [],
      notifications: {
        webhook: { url: { env: 'HOOK_URL' } },
        email: {
          host: '127.0.0.1',
          port: smtp.port,
          secure: false,
          user: 'notifier',
          password: { env: 'SMTP_PASSWORD' },
          from: 'exportctl@example.com',
          to: [],
        },
      },
    });
    const ready = resource('ExportDestination', 'vip-newsletter', { listId: 'x' });
    notifier.observe([access, ready]);
    const failed = {
      status: 'failed' as const,
      imported: 0,
      removed: 0,
      message: 'list-not-found: the list 04fe9a97 is gone',
      hint: 'recreate the list or change listId, then apply',
    };
    notifier.runFinished('vip-newsletter', failed);
    notifier.runFinished('vip-newsletter', failed); // the same failure again: no second message
    await notifier.settle(10_000);
    notifier.runFinished('vip-newsletter', { status: 'succeeded', imported: 3, removed: 0 });
    const stalled = resource('ExportDestination', 'vip-newsletter', { listId: 'x' }, 'the list is gone');
    notifier.observe([access, stalled]);
    notifier.observe([access, stalled]); // the next drift check sees it again: nothing new
    await notifier.settle(10_000);

    const events = webhook.bodies.map((body) => `${body.event} ${body.resource}`);
    expect(events).toEqual([
      'run-failed run of vip-newsletter',
      'recovered run of vip-newsletter',
      'stalled ExportDestination/vip-newsletter',
    ]);
    const first = webhook.bodies[0] ?? {};
    expect(first.destination).toBe('vip-newsletter');
    expect(first.reason).toBe('list-not-found: the list 04fe9a97 is gone');
    expect(first.hint).toBe('recreate the list or change listId, then apply');
    expect(String(first.text)).toContain('vip-newsletter');
    expect(String(first.text)).toContain('recreate the list');
    // The first POST got a 500: it was retried, and logged without the URL.
    expect(log).toMatch(/notification not delivered \(webhook\): the webhook answered HTTP 500; retrying/);

    expect(smtp.mails.map((mail) => /^Subject: (.*)$/m.exec(mail.text)?.[1])).toEqual([
      'exportctl: run-failed run of vip-newsletter',
      'exportctl: recovered run of vip-newsletter',
      'exportctl: stalled ExportDestination/vip-newsletter',
    ]);
    expect(smtp.mails[0]?.to).toEqual(['admin@example.com']);
    expect(smtp.mails[0]?.text).toContain('Destination: vip-newsletter');
    expect(smtp.mails[0]?.text).toContain('Reason: list-not-found: the list 04fe9a97 is gone');
    expect(smtp.mails[0]?.text).toContain('Hint: recreate the list or change listId, then apply');

    const everything = [JSON.stringify(webhook.bodies), ...smtp.mails.map((mail) => mail.text), log].join(
      '\n',
    );
    expect(everything).not.toContain(webhookSecret);
    expect(everything).not.toContain(smtpPassword);
  });

  it('never blocks: an unreachable channel is retried in the background and given up on', async () => {
    let output = '';
    const notifier = new WatchNotifier({
      env: {},
      cwd: process.cwd(),
      logger: pino(
        new Writable({
          write: (chunk, _e, done) => {
            output += String(chunk);
            done();
          },
        }),
      ),
      backoffMs: 10,
      attempts: 3,
    });
    notifier.observe([
      resource('Access', 'default', {
        administrators: ['admin@example.com'],
        notifications: { webhook: { url: { env: 'UNSET_HOOK' } } },
      }),
    ]);
    const started = performance.now();
    notifier.runFinished('win-back', { status: 'failed', imported: 0, removed: 0, message: 'boom' });
    expect(performance.now() - started).toBeLessThan(50);
    await notifier.settle(5_000);
    expect(output).toMatch(/notification not delivered \(webhook\) after 1 attempt\(s\): .*UNSET_HOOK/);
  });
});
