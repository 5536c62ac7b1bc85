import { RateLimiterRegistry } from '../constant-contact/rate-limiter-registry';
import type { StateStore } from '../state';
import { findStateBackend } from './state-backends';

const registries = new WeakMap<StateStore, RateLimiterRegistry>();

/**
 * The rate limiters of every API key for the commands of this process that use `store`: one
 * registry per opened state, whose limiters reserve each request's permit in the state backend's
 * permit store (`StateBackend.requestPermits`), so that every process using the state together
 * stays under each key's requests per second: several `exportctl run`, a cron `run --due` beside
 * `watch`, a `plan` or `apply` beside a run. A state of a backend the wiring lacks, or one no other
 * process can open, gets limiters of this process only.
 */
export function rateLimitersFor(store: StateStore): RateLimiterRegistry {
  let registry = registries.get(store);
  if (!registry) {
    const permits = findStateBackend(store)?.requestPermits(store);
    registry = new RateLimiterRegistry(permits ? { permits } : {});
    registries.set(store, registry);
  }
  return registry;
}
