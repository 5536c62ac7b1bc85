import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasErrors, loadManifests } from '../../../src/config';
import {
  applyPlan,
  computePlan,
  createSavedPlan,
  readSavedPlan,
  replaySavedPlan,
  SavedPlanError,
  serializeSavedPlan,
  writeSavedPlan,
} from '../../../src/reconcile';
import type { HandlerContext } from '../../../src/resources';
import type { StateStore } from '../../../src/state';
import { rejectionOf } from '../../support/rejection';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';
import { connectionSpec, destinationSpec, manifest, sourceSpec } from '../../unit/config/manifest-builders';
import { FakeConstantContact, FakeSources } from './fake-services';

const LIST_A = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';

async function world() {
  const folder = tempFolder();
  const store = await openTestState({ folder });
  const cc = new FakeConstantContact();
  cc.addList(LIST_A, 'VIP');
  const sources = new FakeSources();
  const env: NodeJS.ProcessEnv = { CC_SECRET: 'secret-1', CC_REFRESH: 'refresh-1' };
  const context = (options: { env?: NodeJS.ProcessEnv; store?: StateStore } = {}): HandlerContext => ({
    store: options.store ?? store,
    owner: 'exportctl',
    env: options.env ?? env,
    constantContact: cc,
    sources,
  });
  const write = (files: Record<string, string>) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(folder, path, '..'), { recursive: true });
      writeFileSync(join(folder, path), content);
    }
  };
  const computed = async () => {
    const loaded = loadManifests(['.'], { cwd: folder, skipRoleChecks: true });
    if (hasErrors(loaded.problems)) throw new Error(JSON.stringify(loaded.problems));
    const request = {
      manifests: loaded.manifests,
      mode: 'apply' as const,
      prune: false,
      refresh: true,
      actor: undefined,
      cwd: folder,
    };
    return { loaded, computed: await computePlan(request, context()) };
  };
  const save = async () => {
    const { loaded, computed: plan } = await computed();
    expect(plan.problems).toEqual([]);
    return createSavedPlan(
      {
        manifests: loaded.manifests,
        files: loaded.files,
        paths: ['.'],
        prune: false,
        refresh: true,
        actor: undefined,
        computed: plan,
      },
      context(),
    );
  };
  const applyNow = async () => {
    const { computed: plan } = await computed();
    await applyPlan(plan.steps, plan.observations, context());
  };
  write({
    'connection.yaml': manifest('Connection', 'cc', connectionSpec),
    'source.yaml': manifest('ProfileSource', 'profiles', sourceSpec),
    'destination.yaml': manifest('ExportDestination', 'vip', destinationSpec),
  });
  return { folder, store, env, context, write, computed, save, applyNow };
}

const replayOptions = (folder: string) => ({
  file: join(folder, 'plan.json'),
  actor: undefined,
  cwd: folder,
});

describe('saved plans (real SQLite state, fake Constant Contact)', () => {
  it('replays to exactly the saved changes while nothing changed; applying them converges', async () => {
    const w = await world();
    const saved = await w.save();
    expect(saved.state.serial).toBe(0);
    const replayed = await replaySavedPlan(saved, replayOptions(w.folder), w.context());
    expect(replayed.problems).toEqual([]);
    expect(replayed.manifestsChanged).toBe(false);
    expect(replayed.steps.map((step) => `${step.change.action} ${step.change.id}`)).toEqual([
      'create ProfileSource/profiles',
      'create Connection/cc',
      'create ExportDestination/vip',
    ]);
    const results = await applyPlan(replayed.steps, replayed.observations, w.context());
    expect(results.map((result) => result.outcome)).toEqual(['done', 'done', 'done']);
    expect((await w.computed()).computed.plan.changes).toEqual([]);
  });

  it('round-trips through its file, which holds no secret value', async () => {
    const w = await world();
    const saved = await w.save();
    const file = join(w.folder, 'plan.json');
    writeSavedPlan(file, saved);
    expect(readSavedPlan(file)).toEqual(saved);
    const text = serializeSavedPlan(saved);
    expect(text.startsWith('{\n  "format": "exportctl-saved-plan"')).toBe(true);
    for (const secret of ['secret-1', 'refresh-1']) expect(text).not.toContain(secret);
  });

  it('is stale (plan-stale) once another apply moved the state serial on', async () => {
    const w = await world();
    const saved = await w.save();
    await w.applyNow();
    const error = await rejectionOf(
      replaySavedPlan(saved, replayOptions(w.folder), w.context()),
      SavedPlanError,
    );
    expect(error.code).toBe('plan-stale');
    expect(error.context).toMatchObject({ planSerial: 0, stateSerial: (await w.store.serial()).serial });
  });

  it('refuses a plan of another state (plan-other-state)', async () => {
    const w = await world();
    const saved = await w.save();
    const other = await openTestState();
    const error = await rejectionOf(
      replaySavedPlan(saved, replayOptions(w.folder), w.context({ store: other })),
      SavedPlanError,
    );
    expect(error.code).toBe('plan-other-state');
  });

  it('refuses when a secret resolves to another value than at plan time (plan-secrets-changed), by fingerprint', async () => {
    const w = await world();
    const saved = await w.save();
    const error = await rejectionOf(
      replaySavedPlan(
        saved,
        replayOptions(w.folder),
        w.context({ env: { ...w.env, CC_SECRET: 'secret-2' } }),
      ),
      SavedPlanError,
    );
    expect(error.code).toBe('plan-secrets-changed');
    expect(error.context).toMatchObject({ secret: 'Connection/cc spec.auth.clientSecret' });
    expect(JSON.stringify(error.toJSON())).not.toMatch(/secret-[12]/);
  });

  it('applies the saved specs when the manifests changed on disk since, and says they changed', async () => {
    const w = await world();
    const saved = await w.save();
    w.write({
      'destination.yaml': manifest(
        'ExportDestination',
        'vip',
        destinationSpec.map((line) => (line === 'segments: [VIP]' ? 'segments: [Other]' : line)),
      ),
    });
    const replayed = await replaySavedPlan(saved, replayOptions(w.folder), w.context());
    expect(replayed.manifestsChanged).toBe(true);
    await applyPlan(replayed.steps, replayed.observations, w.context());
    expect((await w.store.resources.get('ExportDestination', 'vip'))?.spec.segments).toEqual(['VIP']);
  });

  it.each([
    ['not JSON', 'apiVersion: exportctl/v1\n'],
    ['another format version', '{"format": "exportctl-saved-plan", "formatVersion": 99}'],
    ['missing parts', '{"format": "exportctl-saved-plan", "formatVersion": 1}'],
  ])(
    'refuses a file that is not a saved plan this exportctl can apply (%s): plan-file-invalid',
    (_case, text) => {
      const folder = tempFolder();
      const file = join(folder, 'plan.json');
      writeFileSync(file, text);
      let caught: unknown;
      try {
        readSavedPlan(file);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SavedPlanError);
      expect((caught as SavedPlanError).code).toBe('plan-file-invalid');
      expect((caught as SavedPlanError).message).toContain(file);
    },
  );
});
