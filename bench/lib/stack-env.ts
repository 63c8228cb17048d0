/** The test helpers that start real processes (none of them imports jest): one place for the benches to take them from. */
export {
  freeStackPorts,
  healthUrl,
  processTree,
  ROOT,
  rssBytes,
  spawnProcess,
  stackEnv,
  waitHealthy,
  type ProcessName,
  type RunningProcess,
  type StackPorts,
} from '../../tests/helpers/built-processes';
export { STACK_SECRETS } from '../../tests/helpers/stack';
export { firingFor } from '../../tests/helpers/fixtures';
export { resolvedVersion as resolvedVersionOf } from '../../tests/helpers/fixtures';
