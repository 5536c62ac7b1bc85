/** What `npm run soak -- ...` was asked. */
export interface CampaignOptions {
  readonly scenarios: number;
  readonly seed: number;
  readonly profiles: number;
  /** Start no scenario after this many minutes. */
  readonly minutes: number;
  /** Run only scenario K of the campaign (its replay). */
  readonly only: number | undefined;
  /** Keep every scenario's folder. */
  readonly keep: boolean;
  /** Print each step as it starts. */
  readonly verbose: boolean;
  /** Step kinds turned on (`+name`) or off (`-name`) beyond the defaults. */
  readonly kinds: readonly string[];
  /** How many steps a scenario draws: least and most. */
  readonly steps: readonly [number, number];
}

export const campaignDefaults = {
  scenarios: 10,
  seed: 1,
  profiles: 2_000,
  minutes: 20,
  only: undefined,
  keep: false,
  verbose: false,
  kinds: [],
  steps: [4, 8],
} as const satisfies CampaignOptions;

export const campaignUsage = `npm run soak -- [--scenarios N] [--seed S] [--profiles P] [--minutes M] [--only K]
                [--steps MIN-MAX] [--kinds +name,-name] [--keep] [--verbose]`;

function whole(flag: string, value: string | undefined, minimum: number): number {
  const number = Number(value);
  if (value === undefined || !Number.isInteger(number) || number < minimum)
    throw new Error(`${flag} takes a whole number of at least ${minimum}, not ${value ?? 'nothing'}`);
  return number;
}

/** Parses the campaign's command line (after `npm run soak --`). */
export function parseCampaignArgs(args: readonly string[]): CampaignOptions {
  let options: CampaignOptions = campaignDefaults;
  for (let index = 0; index < args.length; index++) {
    const flag = args[index] as string;
    const value = () => args[++index];
    switch (flag) {
      case '--scenarios':
        options = { ...options, scenarios: whole(flag, value(), 1) };
        break;
      case '--seed':
        options = { ...options, seed: whole(flag, value(), 0) };
        break;
      case '--profiles':
        options = { ...options, profiles: whole(flag, value(), 10) };
        break;
      case '--minutes':
        options = { ...options, minutes: whole(flag, value(), 1) };
        break;
      case '--only':
        options = { ...options, only: whole(flag, value(), 0) };
        break;
      case '--steps': {
        const [least, most = least] = (value() ?? '').split('-');
        const range: [number, number] = [whole(flag, least, 1), whole(flag, most, 1)];
        if (range[1] < range[0]) throw new Error(`--steps ${least}-${most}: the most is below the least`);
        options = { ...options, steps: range };
        break;
      }
      case '--kinds':
        options = { ...options, kinds: (value() ?? '').split(',').filter((kind) => kind !== '') };
        break;
      case '--keep':
        options = { ...options, keep: true };
        break;
      case '--verbose':
        options = { ...options, verbose: true };
        break;
      default:
        throw new Error(`unknown option ${flag}\nusage: ${campaignUsage}`);
    }
  }
  return options;
}
