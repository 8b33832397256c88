/**
 * The fuzz targets as data: each is a set of fast-check properties with a fixed seed and a number of runs per
 * budget unit, so a run is reproducible (same seed, same runs, same inputs). `npm run fuzz` (bench/fuzz.ts) runs
 * them with a large budget and prints a table; test/fuzz/*.test.ts runs them with a small one in CI.
 */
import fc from 'fast-check';

export interface FuzzProperty {
  name: string;
  /** Builds the property; called once per run of the target. */
  property: () => fc.IRawProperty<unknown>;
  /** Runs in the CI-sized budget (scale 1); the bench multiplies this. */
  runs: number;
  /** Inputs one run feeds to the code under test (a run of the datagram fuzzer is a batch). Default 1. */
  inputsPerRun?: number;
  /**
   * Set for a property that documents a bug not fixed yet: it is expected to fail, is reported as known, and does
   * not fail the run (the text says what is wrong and whose code it is).
   */
  knownBug?: string;
}

export interface FuzzTarget {
  name: string;
  /** What is fed to what, and which properties must hold. */
  description: string;
  properties: FuzzProperty[];
}

export interface PropertyResult {
  target: string;
  property: string;
  runs: number;
  inputs: number;
  failed: boolean;
  knownBug: string | null;
  /** The shrunk counterexample and the error, when it failed. */
  counterexample: string | null;
  error: string | null;
  seed: number;
  path: string | null;
  wallMilliseconds: number;
}

export const DEFAULT_SEED = 0x5eed1;

function describeValue(value: unknown): string {
  const text = fc.stringify(value);
  return text.length > 2000 ? text.slice(0, 2000) + '... (' + text.length + ' characters)' : text;
}

/** Runs one property with a fixed seed and number of runs (synchronous properties only). */
export function runProperty(target: FuzzTarget, entry: FuzzProperty, scale: number, seed = DEFAULT_SEED): PropertyResult {
  const runs = Math.max(1, Math.round(entry.runs * scale));
  const started = performance.now();
  const details = fc.check(entry.property() as fc.IRawProperty<unknown, false>, { seed, numRuns: runs, endOnFailure: false });
  const wallMilliseconds = performance.now() - started;
  const error = details.failed ? String((details.errorInstance as Error | null)?.stack ?? details.errorInstance) : null;
  return {
    target: target.name,
    property: entry.name,
    runs: details.failed ? details.numRuns : runs,
    inputs: (details.failed ? details.numRuns : runs) * (entry.inputsPerRun ?? 1),
    failed: details.failed,
    knownBug: entry.knownBug ?? null,
    counterexample: details.failed ? describeValue(details.counterexample) : null,
    error: error && error.length > 3000 ? error.slice(0, 3000) + '...' : error,
    seed: details.seed,
    path: details.counterexamplePath ?? null,
    wallMilliseconds,
  };
}

/** Message for an assertion: how to replay the failure. */
export function failureReport(result: PropertyResult): string {
  return (
    `${result.target} / ${result.property} failed after ${result.runs} runs (seed ${result.seed}, path ${result.path}).\n` +
    `counterexample: ${result.counterexample}\nerror: ${result.error}`
  );
}
