import type { Logger } from '../../lib/logger';
import type { Backends } from '../backends/types';
import type { GuardedTool } from '../mcp/tool-context';
import type { AuditLog } from './audit';
import { breakerResetTool } from './breaker-tool';
import type { HealthDeps } from './health';
import { healthCheckTool } from './health-tool';
import type { IpDenylist } from './ip-denylist';
import { ipTools } from './ip-tools';
import type { MaintenanceStore } from './maintenance';
import { maintenanceTool } from './maintenance-tool';

export interface OpsToolsDeps {
  health: HealthDeps;
  maintenance: MaintenanceStore;
  audit: AuditLog;
  backends: Backends;
  denylist: IpDenylist;
  logger: Logger;
}

/** Every ops_* tool, built once per process. */
export function createOpsTools(deps: OpsToolsDeps): GuardedTool[] {
  return [
    healthCheckTool(deps.health),
    maintenanceTool(deps),
    breakerResetTool(deps),
    ...ipTools(deps),
  ];
}
