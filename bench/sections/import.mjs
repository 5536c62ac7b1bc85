// Imports 1,000,000 generated contacts (scripts/generate-profiles.mjs, the same seed as the
// quickstart) through the Constant Contact client into a sandbox started as `exportctl sandbox` in its
// own process, at Constant Contact's default limits (4 requests/second). Prints the wall time, the
// requests made by endpoint, and the most requests the sandbox saw in any 1-second window.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generateProfiles } from '../../scripts/generate-profiles.mjs';
import { startSandboxProcess } from '../../scripts/sandbox-process.mjs';

const count = 1_000_000;
const listId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a'; // the quickstart seed's "VIP and newsletter"

/** The generator's profiles as import contacts: trimmed emails, names cut to CC's 50 characters. */
function* contacts() {
  for (const { profile } of generateProfiles({ count })) {
    yield {
      email: profile.EmailAddress.trim(),
      first_name: profile.FirstName.slice(0, 50),
      last_name: profile.LastName.slice(0, 50),
    };
  }
}

export default {
  name: 'import',
  description: `${count.toLocaleString('en-US')} contacts through the client into a sandbox (4 requests/second)`,
  async run({ root, log }) {
    const require = createRequire(import.meta.url);
    const cc = require(join(root, 'dist', 'src', 'constant-contact', 'index.js'));

    let started = performance.now();
    const all = [...contacts()];
    const generated = performance.now();
    const batches = [...cc.cutImportBatches(all, [listId])];
    const cut = performance.now();
    log(
      `generated ${all.length.toLocaleString('en-US')} contacts in ${((generated - started) / 1000).toFixed(2)} s; cut into ${batches.length} batches in ${((cut - generated) / 1000).toFixed(2)} s`,
    );
    log(
      `  largest batch: ${Math.max(...batches.map((b) => b.contacts.length)).toLocaleString('en-US')} contacts, largest body: ${Math.max(...batches.map((b) => b.bodyBytes)).toLocaleString('en-US')} bytes`,
    );

    const sandbox = await startSandboxProcess(root);
    const byEndpoint = new Map();
    const client = new cc.ConstantContactClient({
      connectionName: 'bench',
      credentials: {
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        bootstrapRefreshToken: 'sandbox-refresh-token',
      },
      tokenStore: new cc.MemoryTokenStore(),
      endpoints: { api: sandbox.apiUrl, token: sandbox.tokenUrl },
      onRequest: (event) => {
        const key = `${event.method} ${event.pathTemplate}${event.status === undefined ? ' (no answer)' : ` ${event.status}`}`;
        byEndpoint.set(key, (byEndpoint.get(key) ?? 0) + 1);
      },
    });
    try {
      started = performance.now();
      const activityIds = [];
      for (const batch of batches) {
        const activity = await client.importContacts({ contacts: batch.contacts, listIds: [listId] });
        activityIds.push(activity.activityId);
      }
      const submitted = performance.now();
      const reports = await client.waitForActivities(activityIds);
      const list = await client.getList(listId);
      const wall = (performance.now() - started) / 1000;

      const sum = (name) => [...reports.values()].reduce((total, report) => total + report.counters[name], 0);
      const stats = await (await fetch(`${sandbox.url}/__sandbox/stats`)).json();
      log(
        `wall time: ${wall.toFixed(2)} s (${batches.length} imports submitted in ${((submitted - started) / 1000).toFixed(2)} s, then waited for their activities)`,
      );
      log(
        `activities: ${[...reports.values()].filter((r) => r.state === 'completed').length}/${reports.size} completed; items ${sum('items_total_count').toLocaleString('en-US')}, errors ${sum('error_count')}, not added (unsubscribed) ${sum('cannot_add_to_list_count')}`,
      );
      log(`list membership_count: ${list.membership_count.toLocaleString('en-US')}`);
      log(`requests made by the client (${[...byEndpoint.values()].reduce((a, b) => a + b, 0)}):`);
      for (const [endpoint, total] of [...byEndpoint].sort()) log(`  ${endpoint}: ${total}`);
      log(
        `sandbox: ${stats.total} API requests, ${stats.throttled} throttled, highest count in any 1-second window: ${stats.maxInAnySecond} (limit 4)`,
      );
      log(`client quota view: ${client.quota().used} used today, ${client.quota().remaining} remaining`);
    } finally {
      await sandbox.stop();
    }
  },
};
