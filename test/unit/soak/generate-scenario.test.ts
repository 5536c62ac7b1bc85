import { describe, expect, it } from 'vitest';
import {
  chooseKinds,
  describeScenario,
  generateScenario,
  parseCampaignArgs,
  replayCommand,
  SeededRandom,
  stepKinds,
} from '../../../soak';
import { generateProfileSource } from '../../../soak/profile-source';
import { profilesCsv } from '../../../soak/source-files';

const kinds = chooseKinds([]);
const scenario = (campaignSeed: number, index: number, profiles = 500) =>
  generateScenario({ campaignSeed, index, profiles, kinds });

describe('the seeded scenario generator', () => {
  it('gives the same scenario for the same seed and number, and another for another', () => {
    expect(scenario(7, 3)).toEqual(scenario(7, 3));
    expect(describeScenario(scenario(7, 3), kinds)).toEqual(describeScenario(scenario(7, 3), kinds));
    expect(scenario(7, 3)).not.toEqual(scenario(7, 4));
    expect(scenario(7, 3)).not.toEqual(scenario(8, 3));
  });

  it('regenerates scenario K alone (--only K) exactly as the campaign drew it', () => {
    const inCampaign = Array.from({ length: 6 }, (_, index) => scenario(11, index));
    expect(scenario(11, 5)).toEqual(inCampaign[5]);
  });

  it('gives the same source bytes for the same seed', () => {
    const bytes = (seed: number) => profilesCsv(generateProfileSource(new SeededRandom(seed), 800));
    expect(bytes(42).equals(bytes(42))).toBe(true);
    expect(bytes(42).equals(bytes(43))).toBe(false);
  });

  it('ends every scenario with a settle step per destination, and draws every kind that is on', () => {
    const drawn = new Set<string>();
    for (let index = 0; index < 150; index++) {
      const generated = scenario(1, index);
      const settles = generated.steps.filter((step) => step.kind === 'settle');
      expect(settles.map((step) => step.params.destination)).toEqual(
        generated.destinations.map((d) => d.name),
      );
      expect(generated.steps.slice(-settles.length)).toEqual(settles);
      for (const step of generated.steps) drawn.add(step.kind);
    }
    const on = stepKinds.filter((kind) => !kind.off).map((kind) => kind.name);
    expect([...drawn].sort()).toEqual(on.sort());
    expect(drawn.has('sabotage')).toBe(false);
  });

  it('turns kinds on and off with --kinds, and the replay command carries what changes a scenario', () => {
    const options = parseCampaignArgs(['--seed', '9', '--profiles', '300', '--kinds', '+sabotage,-quota']);
    const chosen = chooseKinds(options.kinds);
    expect(chosen.find((kind) => kind.name === 'sabotage')?.off).toBe(false);
    expect(chosen.find((kind) => kind.name === 'quota')?.off).toBe(true);
    expect(replayCommand(options, 4)).toBe(
      'npm run soak -- --seed 9 --only 4 --profiles 300 --kinds +sabotage,-quota',
    );
    expect(() => parseCampaignArgs(['--scenarios', 'x'])).toThrow(/--scenarios/);
    expect(() => chooseKinds(['+nothing'])).toThrow(/no step kind nothing/);
  });
});

describe('SeededRandom', () => {
  it('replays its sequence from a seed, and derived streams do not depend on what was drawn', () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    const fresh = new SeededRandom(5).derive('x');
    const used = new SeededRandom(5);
    used.next();
    expect(used.derive('x').next()).toBe(fresh.next());
    expect(new SeededRandom(5).derive('y').next()).not.toBe(new SeededRandom(5).derive('x').next());
  });
});
