import { closeSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { type Manifest, type ManifestKind, manifestKinds } from '../config';
import { packageVersion } from '../package-root';
import type { JsonObject } from '../state/spec-hash';
import type { DriftFinding } from './plan';
import type { Observation } from './plan-steps';
import { SavedPlanError } from './saved-plan-errors';

/** The first field of every saved plan file: how `apply` tells a plan from a manifest PATH. */
export const SAVED_PLAN_FORMAT = 'exportctl-saved-plan';
export const SAVED_PLAN_FORMAT_VERSION = 1;

/** One declared manifest as the plan saw it (validated, defaults filled): what apply will apply. */
export interface SavedManifest {
  readonly kind: ManifestKind;
  readonly name: string;
  /** The file it was read from (absolute): relative paths and `{file}` secrets resolve against it. */
  readonly file: string;
  /** Its document's index in the file, and where the document starts (for messages). */
  readonly index: number;
  readonly line: number;
  readonly column: number;
  /** Secret references only, never their values (a literal secret does not validate). */
  readonly manifest: Manifest;
}

/**
 * What `exportctl plan -out FILE` writes and `exportctl apply FILE` applies (formatVersion 1). It
 * carries what will be applied (every declared manifest, PATH's prune choice, the refresh's
 * observations), what it was planned against (the state's lineage and serial), and what must not
 * have changed since (the fingerprints of the secrets). It never holds a secret value.
 */
export interface SavedPlan {
  readonly format: typeof SAVED_PLAN_FORMAT;
  readonly formatVersion: typeof SAVED_PLAN_FORMAT_VERSION;
  /** Another exportctl version may diff differently: it refuses the file. */
  readonly exportctlVersion: string;
  readonly createdAt: string;
  /** Who planned (informational: roles are checked for whoever applies). */
  readonly createdBy: string | null;
  readonly state: { readonly location: string; readonly lineage: string; readonly serial: number };
  readonly request: { readonly paths: readonly string[]; readonly prune: boolean; readonly refresh: boolean };
  /** The manifest files read, and {@link manifestsHash} of them at plan time. */
  readonly manifestFiles: { readonly hash: string; readonly files: readonly string[] };
  readonly manifests: readonly SavedManifest[];
  /** `Connection/<name> spec.auth.<field>` -> the state's fingerprint of the value (see secretFingerprints). */
  readonly secretFingerprints: Readonly<Record<string, string>>;
  /** The plan as `plan --output json` prints it (sensitive values as `(sensitive)`). */
  readonly plan: JsonObject & {
    readonly changes: readonly JsonObject[];
    readonly drift: readonly DriftFinding[];
  };
  /** What the plan's refresh observed: recorded by the apply, as a normal apply records its own. */
  readonly observations: readonly Observation[];
}

/** The file's text: 2-space JSON, `format` first, a final newline. */
export function serializeSavedPlan(plan: SavedPlan): string {
  const { format, ...rest } = plan;
  return `${JSON.stringify({ format, ...rest }, null, 2)}\n`;
}

/**
 * Writes the plan to `file`, mode 0600 (it names files, lists and who may do what), through a
 * temporary file and a rename, so a reader never sees half a plan.
 */
export function writeSavedPlan(file: string, plan: SavedPlan): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, serializeSavedPlan(plan), { mode: 0o600 });
  renameSync(temporary, file);
}

/**
 * Whether `path` is a saved plan file rather than a manifest: a regular file that starts with the
 * saved plan's `format` field. Anything else (folders, YAML, a missing path) is not.
 */
export function isSavedPlanFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const head = Buffer.alloc(256);
    const fd = openSync(path, 'r');
    try {
      const length = readSync(fd, head, 0, head.length, 0);
      return new RegExp(`^\\s*\\{\\s*"format"\\s*:\\s*"${SAVED_PLAN_FORMAT}"`).test(
        head.subarray(0, length).toString('utf8'),
      );
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Reads and checks a saved plan file. Throws SavedPlanError `plan-file-invalid` (naming the file and
 * what is wrong) when it cannot be read, is not JSON, is another format version or another exportctl
 * version's, or lacks a part.
 */
export function readSavedPlan(file: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalid(file, `it cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalid(file, 'it is not JSON');
  }
  const plan = data as Partial<Record<keyof SavedPlan, unknown>>;
  if (!isObject(data) || plan.format !== SAVED_PLAN_FORMAT) throw invalid(file, 'it is not a saved plan');
  if (plan.formatVersion !== SAVED_PLAN_FORMAT_VERSION)
    throw invalid(
      file,
      `it is format version ${String(plan.formatVersion)}; this exportctl reads ${SAVED_PLAN_FORMAT_VERSION}`,
    );
  if (plan.exportctlVersion !== packageVersion())
    throw invalid(
      file,
      `it was made by exportctl ${String(plan.exportctlVersion)}, and this is ${packageVersion()} (plans are applied by the version that made them)`,
    );
  const missing = missingPart(plan);
  if (missing) throw invalid(file, `its ${missing} is missing or malformed`);
  return data as unknown as SavedPlan;
}

function missingPart(plan: Partial<Record<keyof SavedPlan, unknown>>): string | undefined {
  const state = plan.state as Record<string, unknown> | undefined;
  const request = plan.request as Record<string, unknown> | undefined;
  const files = plan.manifestFiles as Record<string, unknown> | undefined;
  const body = plan.plan as Record<string, unknown> | undefined;
  const checks: [string, boolean][] = [
    ['createdAt', typeof plan.createdAt === 'string'],
    [
      'state',
      isObject(state) &&
        typeof state.location === 'string' &&
        typeof state.lineage === 'string' &&
        Number.isInteger(state.serial),
    ],
    [
      'request',
      isObject(request) &&
        isStringArray(request.paths) &&
        typeof request.prune === 'boolean' &&
        typeof request.refresh === 'boolean',
    ],
    ['manifestFiles', isObject(files) && typeof files.hash === 'string' && isStringArray(files.files)],
    ['manifests', Array.isArray(plan.manifests) && plan.manifests.every(isSavedManifest)],
    [
      'secretFingerprints',
      isObject(plan.secretFingerprints) &&
        Object.values(plan.secretFingerprints).every((value) => typeof value === 'string'),
    ],
    ['plan', isObject(body) && Array.isArray(body.changes) && Array.isArray(body.drift)],
    ['observations', Array.isArray(plan.observations) && plan.observations.every(isObject)],
  ];
  return checks.find(([, ok]) => !ok)?.[0];
}

function isSavedManifest(value: unknown): boolean {
  if (!isObject(value)) return false;
  const item = value as Record<string, unknown>;
  return (
    manifestKinds.includes(item.kind as ManifestKind) &&
    typeof item.name === 'string' &&
    typeof item.file === 'string' &&
    Number.isInteger(item.index) &&
    Number.isInteger(item.line) &&
    Number.isInteger(item.column) &&
    isObject(item.manifest)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function invalid(file: string, reason: string): SavedPlanError {
  return new SavedPlanError(
    'plan-file-invalid',
    `${file} is not a saved plan this exportctl can apply: ${reason}`,
    {
      context: { file },
      hint: 'make one with exportctl plan PATH -out FILE (with this exportctl), review it, then exportctl apply FILE',
    },
  );
}
