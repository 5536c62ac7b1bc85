import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasErrors, loadManifests } from '../../../src/config';
import { applyPlan, computePlan, type PlanRequest, planJson, renderPlanText } from '../../../src/reconcile';
import type { HandlerContext } from '../../../src/resources';
import type { ResourceOwner, StateStore } from '../../../src/state';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';
import {
  connectionSpec,
  destinationSpec,
  manifest,
  sourceSpec,
  withLine,
} from '../../unit/config/manifest-builders';
import { FakeConstantContact, FakeSources } from './fake-services';

const LIST_A = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';
const LIST_B = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
const LIST_C = '7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b';

interface World {
  readonly folder: string;
  readonly store: StateStore;
  readonly cc: FakeConstantContact;
  readonly sources: FakeSources;
  readonly env: NodeJS.ProcessEnv;
  context(owner?: ResourceOwner): HandlerContext;
  write(files: Record<string, string>): void;
  plan(options?: Partial<PlanRequest>): ReturnType<typeof computePlan>;
  apply(
    options?: Partial<PlanRequest>,
  ): Promise<{ results: Awaited<ReturnType<typeof applyPlan>>; text: string }>;
}

async function world(): Promise<World> {
  const folder = tempFolder();
  const store = await openTestState({ folder });
  const cc = new FakeConstantContact();
  cc.addList(LIST_A, 'VIP');
  cc.addList(LIST_B, 'Win-back');
  const sources = new FakeSources();
  const env: NodeJS.ProcessEnv = { CC_SECRET: 'secret-1', CC_REFRESH: 'refresh-1' };
  const context = (owner: ResourceOwner = 'exportctl'): HandlerContext => ({
    store,
    owner,
    env,
    constantContact: cc,
    sources,
  });
  const plan = async (options: Partial<PlanRequest> = {}) => {
    const loaded = loadManifests(['.'], { cwd: folder, skipRoleChecks: true });
    if (hasErrors(loaded.problems)) throw new Error(JSON.stringify(loaded.problems));
    return computePlan(
      {
        manifests: loaded.manifests,
        mode: 'apply',
        prune: false,
        refresh: false,
        actor: undefined,
        cwd: folder,
        ...options,
      },
      context(),
    );
  };
  return {
    folder,
    store,
    cc,
    sources,
    env,
    context,
    write(files) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(folder, path, '..'), { recursive: true });
        writeFileSync(join(folder, path), content);
      }
    },
    plan,
    async apply(options = {}) {
      const computed = await plan(options);
      expect(computed.problems).toEqual([]);
      return {
        results: await applyPlan(computed.steps, computed.observations, context()),
        text: renderPlanText(computed.plan),
      };
    },
  };
}

const baseManifests = {
  'connection.yaml': manifest('Connection', 'cc', connectionSpec),
  'source.yaml': manifest('ProfileSource', 'profiles', sourceSpec),
  'destinations.yaml': `${manifest('ExportDestination', 'vip', destinationSpec)}---\n${manifest('ExportDestination', 'winback', withLine(destinationSpec, 'listId', `listId: ${LIST_B}`))}`,
};

describe('reconciler (real SQLite state, fake Constant Contact)', () => {
  it('create, then no changes, then update, then replace', async () => {
    const w = await world();
    w.write(baseManifests);

    const first = await w.plan();
    expect(first.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'create ProfileSource/profiles',
      'create Connection/cc',
      'create ExportDestination/vip',
      'create ExportDestination/winback',
    ]);
    const applied = await w.apply();
    expect(applied.results.map((result) => result.outcome)).toEqual(['done', 'done', 'done', 'done']);
    expect(applied.text).toContain('Plan: 4 to add, 0 to change, 0 to destroy.');
    const vip = await w.store.resources.get('ExportDestination', 'vip');
    expect(vip?.generation).toBe(1);
    expect(vip?.conditions.find((condition) => condition.type === 'Ready')?.status).toBe(true);
    expect(vip?.remoteFacts?.facts).toEqual({ listId: LIST_A, listName: 'VIP', membershipCount: 0 });
    expect((await w.store.secrets.describe('cc')).map((secret) => secret.name)).toEqual([
      'clientSecret',
      'refreshToken',
    ]);

    const second = await w.plan();
    expect(second.plan.changes).toEqual([]);
    expect(renderPlanText(second.plan)).toBe('No changes.');

    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace(
        'segments: [VIP]',
        'segments: [VIP, Newsletter]',
      ),
    });
    const third = await w.plan();
    // Only the first document's segments changed.
    expect(third.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'update ExportDestination/vip',
    ]);
    expect(third.plan.changes[0]?.fields).toEqual([
      {
        path: 'spec.segments',
        before: ['VIP'],
        after: ['VIP', 'Newsletter'],
        sensitive: false,
        forcesReplacement: false,
      },
    ]);
    await w.apply();
    expect((await w.store.resources.get('ExportDestination', 'vip'))?.generation).toBe(2);

    w.cc.addList(LIST_C, 'Renewals');
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml']
        .replace('segments: [VIP]', 'segments: [VIP, Newsletter]')
        .replace(`listId: ${LIST_B}`, `listId: ${LIST_C}`),
    });
    const fourth = await w.plan();
    expect(fourth.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'replace ExportDestination/winback',
    ]);
    expect(renderPlanText(fourth.plan)).toContain(
      '-/+ ExportDestination/winback (spec.listId forces replacement)',
    );
    await w.apply();
    const winback = await w.store.resources.get('ExportDestination', 'winback');
    expect(winback?.spec.listId).toBe(LIST_C);
    expect(winback?.generation).toBe(1);
    expect(winback?.remoteFacts?.facts.listName).toBe('Renewals');
  });

  it('a replacement whose new list does not exist keeps the old destination', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace(
        `listId: ${LIST_B}`,
        `listId: ${LIST_C}`,
      ),
    });
    const { results } = await w.apply();
    expect(results).toMatchObject([
      { id: 'ExportDestination/winback', action: 'replace', outcome: 'failed', code: 'list-not-found' },
    ]);
    const winback = await w.store.resources.get('ExportDestination', 'winback');
    expect(winback?.spec.listId).toBe(LIST_B);
    expect(winback?.conditions.find((condition) => condition.type === 'Stalled')).toMatchObject({
      status: true,
      reason: 'ListNotFound',
    });
  });

  it('a changed secret value is a sensitive update, never shown', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.env.CC_SECRET = 'secret-2-rotated';
    w.cc.acceptedSecret = 'secret-2-rotated';
    const plan = await w.plan();
    expect(plan.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'update Connection/cc',
    ]);
    const text = renderPlanText(plan.plan);
    expect(text).toContain('~ spec.auth.clientSecret: (sensitive value changed)');
    for (const output of [text, JSON.stringify(planJson(plan.plan))]) {
      expect(output).not.toContain('secret-2-rotated');
      expect(output).not.toContain('secret-1');
    }
    await w.apply();
    expect(await w.store.secrets.get('cc', 'clientSecret')).toBe('secret-2-rotated');
    expect((await w.plan()).plan.changes).toEqual([]);
  });

  it('a connection whose credentials are refused stores nothing; its destinations are skipped', async () => {
    const w = await world();
    w.write(baseManifests);
    w.env.CC_SECRET = 'wrong';
    const { results } = await w.apply();
    expect(results.map((result) => [result.id, result.outcome])).toEqual([
      ['ProfileSource/profiles', 'done'],
      ['Connection/cc', 'failed'],
      ['ExportDestination/vip', 'skipped'],
      ['ExportDestination/winback', 'skipped'],
    ]);
    expect(await w.store.resources.get('Connection', 'cc')).toBeUndefined();
    expect(await w.store.secrets.describe('cc')).toEqual([]);
    // Fix the credentials: a second apply converges.
    w.env.CC_SECRET = 'secret-1';
    const again = await w.apply();
    expect(again.results.map((result) => `${result.action} ${result.id} ${result.outcome}`)).toEqual([
      'create Connection/cc done',
      'create ExportDestination/vip done',
      'create ExportDestination/winback done',
    ]);
    expect((await w.plan()).plan.changes).toEqual([]);
  });

  it('lists undeclared resources, deletes them only with --prune, and refuses to delete a connection in use', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.write({ 'destinations.yaml': manifest('ExportDestination', 'vip', destinationSpec) });
    const kept = await w.plan();
    expect(kept.plan.changes).toEqual([]);
    expect(kept.plan.notDeclared).toEqual(['ExportDestination/winback']);
    const pruned = await w.plan({ prune: true });
    expect(pruned.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'delete ExportDestination/winback',
    ]);
    await w.apply({ prune: true });
    expect(await w.store.resources.get('ExportDestination', 'winback')).toBeUndefined();

    // Pruning the connection while vip (declared) still uses it is refused.
    w.write({ 'connection.yaml': '# gone\n' });
    const inUse = await computePlan(
      {
        manifests: loadManifests(['destinations.yaml', 'source.yaml'], { cwd: w.folder }).manifests,
        mode: 'apply',
        prune: true,
        refresh: false,
        actor: undefined,
        cwd: w.folder,
      },
      w.context(),
    );
    expect(inUse.problems.map((problem) => [problem.code, problem.resource])).toEqual([
      ['resource-in-use', 'Connection/cc'],
    ]);
  });

  it('destroy deletes what PATH declares, destinations first', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    const destroy = await w.plan({ mode: 'destroy' });
    expect(destroy.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'delete ExportDestination/vip',
      'delete ExportDestination/winback',
      'delete Connection/cc',
      'delete ProfileSource/profiles',
    ]);
    const results = await applyPlan(destroy.steps, [], w.context());
    expect(results.every((result) => result.outcome === 'done')).toBe(true);
    expect(await w.store.resources.list()).toEqual([]);
    expect(await w.store.secrets.describe('cc')).toEqual([]);
  });

  it('never touches a resource owned by Pulumi, and never prunes it', async () => {
    const w = await world();
    w.write(baseManifests);
    const computed = await w.plan();
    await applyPlan(computed.steps, [], w.context('pulumi'));
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace('segments: [VIP]', 'segments: [Other]'),
    });
    const plan = await w.plan({ prune: true });
    expect(plan.plan.changes).toEqual([]);
    expect(plan.plan.skipped.map((item) => item.id)).toEqual([
      'ProfileSource/profiles',
      'Connection/cc',
      'ExportDestination/vip',
      'ExportDestination/winback',
    ]);
  });

  it('skips and never prunes what a Pulumi stack owns, naming the stack', async () => {
    const w = await world();
    w.write(baseManifests);
    await applyPlan((await w.plan()).steps, [], w.context('pulumi:acme/exportctl/dev'));
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace('segments: [VIP]', 'segments: [Other]'),
    });
    const plan = await w.plan({ prune: true });
    expect(plan.plan.changes).toEqual([]);
    expect(plan.plan.skipped).toContainEqual({
      id: 'ExportDestination/vip',
      reason: expect.stringContaining('owned by pulumi:acme/exportctl/dev'),
    });
    expect(plan.plan.skipped).toHaveLength(4);
    expect((await w.store.resources.list()).map((item) => item.owner)).toEqual(
      Array(4).fill('pulumi:acme/exportctl/dev'),
    );
  });

  it('stops before the next step when the caller lost its lock: what was applied stays, nothing after it', async () => {
    const w = await world();
    w.write(baseManifests);
    const computed = await w.plan();
    let checks = 0;
    const lost = new Error('the control-plane lock was lost (test)');
    const done: string[] = [];
    await expect(
      applyPlan(computed.steps, computed.observations, w.context(), {
        beforeStep: async () => {
          checks += 1;
          if (checks === 3) throw lost;
        },
        onStep: (result) => {
          if (result.outcome === 'done') done.push(result.id);
        },
      }),
    ).rejects.toBe(lost);
    expect(done).toEqual(['ProfileSource/profiles', 'Connection/cc']);
    expect((await w.store.resources.list()).map((item) => `${item.kind}/${item.name}`).sort()).toEqual([
      'Connection/cc',
      'ProfileSource/profiles',
    ]);
  });

  it('drift refresh reads each connection and source from the state once, however many destinations use them', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    const reads: string[] = [];
    const secrets = w.store.secrets;
    const resources = w.store.resources;
    const secretGet = secrets.get.bind(secrets);
    const resourceGet = resources.get.bind(resources);
    secrets.get = (name, field) => {
      reads.push(`secret ${name}.${field}`);
      return secretGet(name, field);
    };
    resources.get = (kind, name) => {
      reads.push(`${kind}/${name}`);
      return resourceGet(kind, name);
    };
    const plan = await w.plan({ refresh: true });
    expect(plan.plan.drift).toEqual([]);
    // The connection's own check and both destinations' share one read of it, its secrets and the source.
    expect(reads.sort()).toEqual([
      'Connection/cc',
      'ProfileSource/profiles',
      'secret cc.clientSecret',
      'secret cc.refreshToken',
    ]);
  });

  it('drift: a deleted list shows as Stalled in the plan and is recorded by apply', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.cc.lists.delete(LIST_A);
    const plan = await w.plan({ refresh: true });
    expect(plan.plan.changes).toEqual([]);
    expect(plan.plan.drift).toMatchObject([
      {
        id: 'ExportDestination/vip',
        kind: 'ExportDestination',
        name: 'vip',
        condition: 'Stalled',
        reason: 'ListNotFound',
        message: `list ${LIST_A} does not exist in Constant Contact`,
      },
    ]);
    await applyPlan(plan.steps, plan.observations, w.context());
    const vip = await w.store.resources.get('ExportDestination', 'vip');
    expect(vip?.conditions.find((condition) => condition.type === 'Stalled')).toMatchObject({
      status: true,
      reason: 'ListNotFound',
    });

    w.cc.acceptedSecret = 'revoked';
    const revoked = await w.plan({ refresh: true });
    expect(revoked.plan.drift.map((finding) => `${finding.id} ${finding.reason}`)).toEqual([
      'Connection/cc CredentialsRejected',
      'ExportDestination/vip CredentialsRejected',
      'ExportDestination/winback CredentialsRejected',
    ]);
  });

  it('refresh errors: a deleted list fails the plan, unless the plan replaces that destination', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.cc.lists.delete(LIST_A);
    const plan = await w.plan({ refresh: true });
    expect(plan.plan.refreshErrors).toEqual([
      {
        id: 'ExportDestination/vip',
        kind: 'ExportDestination',
        name: 'vip',
        reason: 'ListNotFound',
        code: 'list-not-found',
        message: `list ${LIST_A} does not exist in Constant Contact`,
        hint: expect.stringContaining('Connection/cc'),
        dependents: [],
      },
    ]);
    expect(plan.plan.refreshErrors[0]?.hint).toContain('spec.listId');

    // Changing its segments does not bring the list back: the update would fail its check the same way.
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace('segments: [VIP]', 'segments: [Other]'),
    });
    const segments = await w.plan({ refresh: true });
    expect(segments.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'update ExportDestination/vip',
    ]);
    expect(segments.plan.refreshErrors.map((error) => error.id)).toEqual(['ExportDestination/vip']);

    // Pointing vip at a list that exists replaces it: what the refresh found is what the apply fixes.
    w.cc.addList(LIST_C, 'Third');
    w.write({ 'destinations.yaml': baseManifests['destinations.yaml'].replace(LIST_A, LIST_C) });
    const fixing = await w.plan({ refresh: true });
    expect(fixing.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'replace ExportDestination/vip',
    ]);
    expect(fixing.plan.drift.map((finding) => finding.id)).toEqual(['ExportDestination/vip']);
    expect(fixing.plan.refreshErrors).toEqual([]);
    expect(planJson(fixing.plan)).toMatchObject({ formatVersion: 1, refreshErrors: [] });
  });

  it('refresh errors: rejected credentials are one error, on the connection, and its destinations are not read', async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.cc.acceptedSecret = 'secret-2';
    w.cc.calls.length = 0;
    const plan = await w.plan({ refresh: true });
    expect(plan.plan.refreshErrors).toMatchObject([
      {
        id: 'Connection/cc',
        reason: 'CredentialsRejected',
        code: 'invalid-client',
        hint: 're-authorise the connection',
        dependents: ['ExportDestination/vip', 'ExportDestination/winback'],
      },
    ]);
    expect(w.cc.calls).toEqual(['verify cc']);
    expect(plan.plan.drift.find((finding) => finding.id === 'ExportDestination/vip')).toMatchObject({
      reason: 'CredentialsRejected',
      message: expect.stringContaining('not checked: Connection/cc'),
    });

    // The new secret in the environment changes the connection, whose update verifies it.
    w.env.CC_SECRET = 'secret-2';
    const fixing = await w.plan({ refresh: true });
    expect(fixing.plan.changes.map((change) => `${change.action} ${change.id}`)).toEqual([
      'update Connection/cc',
    ]);
    expect(fixing.plan.refreshErrors).toEqual([]);
  });

  it("apply: a step refused for its connection's credentials marks that connection Stalled too", async () => {
    const w = await world();
    w.write(baseManifests);
    await w.apply();
    w.cc.acceptedSecret = 'secret-2';
    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace('segments: [VIP]', 'segments: [Other]'),
    });
    const { results } = await w.apply();
    expect(results.map((result) => `${result.id} ${result.outcome} ${result.code}`)).toEqual([
      'ExportDestination/vip failed invalid-client',
    ]);
    const connection = await w.store.resources.get('Connection', 'cc');
    expect(connection?.conditions.find((condition) => condition.type === 'Stalled')).toMatchObject({
      status: true,
      reason: 'CredentialsRejected',
    });
  });

  it('role rules: a contributor may change a destination on a shared connection, but not delete the connection', async () => {
    const w = await world();
    const access = manifest('Access', 'default', [
      'administrators: [ops@example.com]',
      'contributors: [ana@example.com]',
    ]);
    const shared = manifest('Connection', 'cc', [
      ...connectionSpec,
      'usableBy: administrators-and-contributors',
    ]);
    w.write({ ...baseManifests, 'connection.yaml': shared, 'access.yaml': access });
    await w.apply({ actor: 'ops@example.com' });

    w.write({
      'destinations.yaml': baseManifests['destinations.yaml'].replace(
        'segments: [VIP]',
        'segments: [Newsletter]',
      ),
    });
    const change = await w.plan({ actor: 'ana@example.com' });
    expect(change.problems).toEqual([]);
    expect(change.plan.changes.map((item) => item.id)).toEqual(['ExportDestination/vip']);

    const denied = await w.plan({ actor: 'ana@example.com', mode: 'destroy' });
    expect(denied.problems.map((problem) => [problem.code, problem.resource])).toEqual([
      ['permission-denied', 'Connection/cc'],
      ['permission-denied', 'ProfileSource/profiles'],
      ['permission-denied', 'Access/default'],
    ]);
  });
});
