import { segmentNames } from '../profile-source';
import { pickDestination, type StepKind } from '../step-kind';

interface ApplyParams {
  readonly [name: string]: string | boolean | readonly string[];
  readonly destination: string;
  readonly segments: readonly string[];
  readonly names: boolean;
}

/**
 * `exportctl apply` of a changed destination: other segments, or the names mapped or not. An
 * unfinished run of it keeps its plan (made with the old spec) and is resumed as it was.
 */
export const applyChange: StepKind<ApplyParams> = {
  name: 'apply',
  weight: 1,
  applies: () => true,
  draw(draft, random) {
    const destination = pickDestination(draft, random);
    const spec = draft.specs.get(destination);
    if (!spec) throw new Error(`no destination ${destination}`);
    const changeSegments = random.chance(0.6);
    let segments = spec.segments;
    if (changeSegments) {
      segments = random.sample(segmentNames, random.int(1, 2)).sort();
      if (segments.join() === spec.segments.join())
        segments = segmentNames.filter((name) => !spec.segments.includes(name)).slice(0, 1);
    }
    const names = changeSegments && random.chance(0.5) ? spec.names : !spec.names;
    draft.specs.set(destination, { ...spec, segments, names });
    return { destination, segments, names };
  },
  describe: (params) =>
    `apply ${params.destination} with segments [${params.segments.join(', ')}], names ${params.names ? 'mapped' : 'not mapped'}`,
  async run(world, params) {
    const spec = world.specs.get(params.destination);
    if (!spec) throw new Error(`no destination ${params.destination}`);
    world.specs.set(params.destination, { ...spec, segments: params.segments, names: params.names });
    await world.apply();
  },
};
