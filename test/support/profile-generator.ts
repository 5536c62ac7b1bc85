import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './exportctl-cli';

/** One generated profile and the segments it is in (scripts/generate-profiles.mjs). */
export interface GeneratedProfile {
  readonly profile: Readonly<Record<'CustomerId' | 'EmailAddress' | 'FirstName' | 'LastName', string>>;
  readonly segments: readonly string[];
}

/** The deterministic profile generator the quickstart data and the benchmark come from. */
export interface ProfileGenerator {
  generateProfiles(options: { count: number; seed?: number }): Iterable<GeneratedProfile>;
  writeProfileFiles(options: { count: number; seed?: number; folder: string }): Promise<void>;
}

/** Loads scripts/generate-profiles.mjs (plain ESM without types). */
export async function loadProfileGenerator(): Promise<ProfileGenerator> {
  const url = pathToFileURL(join(repoRoot, 'scripts', 'generate-profiles.mjs')).href;
  return (await import(url)) as ProfileGenerator;
}
