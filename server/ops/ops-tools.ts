import type { Backends } from '../backends/types';
import type { GuardedTool } from '../mcp/tool-context';
import type { AuditLog } from './audit';
import type { HealthDeps } from './health';
import { healthCheckTool } from './health-tool';
import type { MaintenanceStore } from './maintenance';

export interface OpsToolsDeps {
  health: HealthDeps;
  maintenance: MaintenanceStore;
  audit: AuditLog;
  backends: Backends;
}

/** Every ops_* tool, built once per process. */
export function createOpsTools(deps: OpsToolsDeps): GuardedTool[] {
  return [healthCheckTool(deps.health)];
}
