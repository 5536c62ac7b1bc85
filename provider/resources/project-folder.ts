import { isAbsolute } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { projectRoot } from '../dynamic/provider-settings';

/**
 * The Pulumi project folder (where Pulumi.yaml is), which relative stack settings and manifest files
 * are relative to. The language host names it; without one (mocks, tests) the SDK answers a
 * placeholder, and the nearest folder with a Pulumi.yaml above the working directory is used.
 */
export function projectFolder(): string {
  const root = pulumi.runtime.getRootDirectory();
  return isAbsolute(root) ? root : projectRoot(process.cwd());
}
