/** What `exportctl run --output json` said about one destination's run. */
export interface RunOutcome {
  readonly destination: string;
  readonly runId: number | undefined;
  /** succeeded, failed, aborted, paused; undefined when no run could be recorded. */
  readonly status: string | undefined;
  readonly resumed: boolean;
  readonly errorCode: string | undefined;
  readonly message: string | undefined;
  readonly pauseReason: string | undefined;
  /** API write calls (imports, removals) the run made. */
  readonly writes: number | undefined;
}

interface RunJson {
  readonly id?: number;
  readonly destination?: string;
  readonly status?: string;
  readonly resumed?: boolean;
  readonly record?: {
    readonly error?: { readonly code?: string; readonly message?: string } | null;
    readonly pause?: { readonly reason?: string; readonly message?: string } | null;
    readonly apiCalls?: { readonly writes?: number };
  };
  readonly error?: { readonly code?: string; readonly message?: string };
}

/** The outcomes in `exportctl run --output json`'s stdout, or undefined when it is not that JSON. */
export function parseRunOutput(stdout: string): RunOutcome[] | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  let parsed: { runs?: RunJson[] };
  try {
    parsed = JSON.parse(stdout.slice(start)) as { runs?: RunJson[] };
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed.runs)) return undefined;
  return parsed.runs.map((run) => {
    const error = run.record?.error ?? run.error ?? undefined;
    return {
      destination: run.destination ?? '?',
      runId: run.id,
      status: run.status,
      resumed: run.resumed === true,
      errorCode: error?.code,
      message: error?.message ?? run.record?.pause?.message,
      pauseReason: run.record?.pause?.reason,
      writes: run.record?.apiCalls?.writes,
    };
  });
}
