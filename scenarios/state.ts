import type { ScenarioContext } from './types.js';

/**
 * What a scenario's `act` learnt (block hashes, times, peer ids) for its `expectations`, keyed by
 * the run's context so concurrent runs of one scenario don't share it. Missing when `act` failed
 * early; the runner already reports that failure.
 */
export function runState<T>(): { set(context: ScenarioContext, value: T): void; get(context: ScenarioContext): T | undefined } {
  const states = new WeakMap<ScenarioContext, T>();
  return {
    set: (context, value) => void states.set(context, value),
    get: (context) => states.get(context),
  };
}
