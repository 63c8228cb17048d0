import type { Logger } from '../../lib/logger';
import type { Registry } from '../../lib/metrics';
import type { AuthFailureLog } from '../auth/auth-failures';
import type { Backends } from '../backends/types';
import type { GuardedTool } from '../mcp/tool-context';
import type { AuditLog } from './audit';
import { backupTools } from './backup-tools';
import type { BackupStore } from './backups';
import { breakerResetTool } from './breaker-tool';
import { evidenceTool } from './evidence-tool';
import type { HealthDeps } from './health';
import { healthCheckTool } from './health-tool';
import type { IpDenylist } from './ip-denylist';
import { ipTools } from './ip-tools';
import type { LogRing } from './log-ring';
import type { MaintenanceStore } from './maintenance';
import { maintenanceTool } from './maintenance-tool';
import { securityReportTool } from './security-report-tool';

export interface OpsToolsDeps {
  health: HealthDeps;
  maintenance: MaintenanceStore;
  audit: AuditLog;
  backends: Backends;
  denylist: IpDenylist;
  backups: BackupStore;
  failures: AuthFailureLog;
  registry: Registry;
  evidenceDir: string;
  logRing?: LogRing;
  logger: Logger;
}

/** Every ops_* tool, built once per process. ops:read to look, ops:admin to change. */
export function createOpsTools(deps: OpsToolsDeps): GuardedTool[] {
  return [
    healthCheckTool(deps.health),
    maintenanceTool(deps),
    breakerResetTool(deps),
    ...ipTools(deps),
    ...backupTools(deps),
    evidenceTool(deps),
    securityReportTool(deps),
  ];
}
