// Type imports only: this file is the contract (and a compile-time check of it), not code a shim loads.
import type { ReadResult } from '@pulumi/pulumi/dynamic';
import type { ManifestKind } from '../../src/config';
import type * as checkResourceModule from './check-resource';
import type { ManifestCheckResult } from './check-resource';
import type * as deleteResourceModule from './delete-resource';
import type * as diffResourceModule from './diff-resource';
import type { ManifestDiffResult } from './diff-resource';
import type * as providerSettingsModule from './provider-settings';
import type { ConfigSource, ProviderSettings } from './provider-settings';
import type * as readResourceModule from './read-resource';
import type { ManifestOutputs, ManifestProps } from './resource-props';
import type * as writeResourceModule from './write-resource';

/**
 * The version of the calls below. Every Pulumi stack keeps, in each resource's state
 * (`__provider`), the provider object ("shim", resource-provider.ts) serialized by the exportctl
 * that last wrote it, and Pulumi keeps running that text: an unchanged resource keeps its old shim
 * for ever. A shim holds no exportctl code; when called it `require()`s these modules of the
 * exportctl installed where the stack runs (`exportctl/dist/provider/dynamic/<module>`, through the
 * package's `exports`) and calls these functions. So old stacks run the new build, and this is an
 * interface between releases:
 *
 * - a module here stays at its path, and a function keeps its name, its parameters (in this order)
 *   and what it accepts; it may accept more and return more (new optional fields);
 * - moving or renaming one keeps a re-export at the old place; a change that an old shim could not
 *   call is a new version of the interface, with new modules or functions beside these;
 * - every released shim is kept as a test fixture (test/fixtures/pulumi/shims/<release>/<Kind>.js,
 *   written by scripts/write-shim-fixtures.mjs) and run through the real dynamic-provider host
 *   against the current build (test/integration/pulumi/shim-compatibility.test.ts);
 * - the shim serialized now must equal the newest copy byte for byte (same test), so changing what
 *   every stack stores is a deliberate act: bump the version, then write its copies.
 *
 * `settings` is opaque to a shim: it gets it from `providerSettings` and hands it back, so its shape
 * is the installed build's own business. `kind` is one of the manifest kinds; the other arguments
 * are what the Pulumi host passes the shim's method (inputs and outputs with `__provider`).
 */
export const SHIM_INTERFACE_VERSION = 1;

/** The module path (under `exportctl/dist/provider/dynamic/`) and functions of each call. */
export interface ShimModules {
  /** `configure`, and every call made before `configure`: the settings from the stack config. */
  readonly 'provider-settings': {
    providerSettings(config?: ConfigSource): ProviderSettings;
  };
  readonly 'check-resource': {
    checkResource(kind: ManifestKind, news: Record<string, unknown>): ManifestCheckResult;
  };
  readonly 'diff-resource': {
    diffResource(
      kind: ManifestKind,
      settings: ProviderSettings,
      id: string,
      olds: Partial<ManifestOutputs>,
      news: ManifestProps,
    ): Promise<ManifestDiffResult>;
  };
  readonly 'write-resource': {
    createResource(
      kind: ManifestKind,
      settings: ProviderSettings,
      inputs: ManifestProps,
    ): Promise<{ id: string; outs: ManifestOutputs }>;
    updateResource(
      kind: ManifestKind,
      settings: ProviderSettings,
      id: string,
      news: ManifestProps,
    ): Promise<{ outs: ManifestOutputs }>;
  };
  readonly 'read-resource': {
    readResource(
      kind: ManifestKind,
      settings: ProviderSettings,
      id: string,
      props?: Partial<ManifestOutputs>,
    ): Promise<ReadResult<ManifestOutputs>>;
  };
  readonly 'delete-resource': {
    deleteResource(
      kind: ManifestKind,
      settings: ProviderSettings,
      id: string,
      props: Partial<ManifestOutputs>,
    ): Promise<void>;
  };
}

/** A module a shim calls. */
export type ShimModuleName = keyof ShimModules;

/** True when every module of this folder still provides what the interface promises. */
type Provides<Module, Promised> = Module extends Promised ? true : never;
/** Fails to compile as soon as a module stops providing its calls (a name, a parameter, a result). */
export type ShimModulesProvided = [
  Provides<typeof providerSettingsModule, ShimModules['provider-settings']>,
  Provides<typeof checkResourceModule, ShimModules['check-resource']>,
  Provides<typeof diffResourceModule, ShimModules['diff-resource']>,
  Provides<typeof writeResourceModule, ShimModules['write-resource']>,
  Provides<typeof readResourceModule, ShimModules['read-resource']>,
  Provides<typeof deleteResourceModule, ShimModules['delete-resource']>,
];
// A `never` above makes this assignment fail to compile.
const modulesProvided: ShimModulesProvided = [true, true, true, true, true, true];
void modulesProvided;
