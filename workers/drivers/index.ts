import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import type { PlatformConfig } from '../../lib/ops-config-platform';
import { createDockerClient } from './docker-client';
import { createDockerDriver } from './docker-driver';
import { createKubeClient } from './kubernetes-client';
import { resolveKubeCredentials, type InClusterConfig } from './kubernetes-credentials';
import { createKubernetesDriver } from './kubernetes-driver';
import { createProcessDriver } from './process-driver';
import { createReleaseHistory } from './release-history';
import { createRequestLedger } from './request-ledger';
import type { PlatformDriver } from './types';

export type { DriverCallContext, DriverResult, PlatformDriver, PlatformDriverKind } from './types';
export { SERVICE_ACCOUNT_DIR, type InClusterConfig } from './kubernetes-credentials';

export interface PlatformDriverDeps {
  /** Release history, the request ledger and (process driver) the launcher's commands live here. The caller closes it. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  kubernetes?: {
    /** From KUBERNETES_SERVICE_HOST/PORT and the service account mount; main.ts reads the env. */
    inCluster?: InClusterConfig;
  };
}

/**
 * The driver the ops config's `platform.driver` names. Throws ConfigError
 * when its credentials cannot be found (kubernetes), so a bad setup stops the
 * workers at start with the reason instead of failing the first restart.
 */
export function createPlatformDriver(platform: PlatformConfig, deps: PlatformDriverDeps): PlatformDriver {
  const history = createReleaseHistory({ redis: deps.redis, prefix: deps.prefix });
  const ledger = createRequestLedger({ redis: deps.redis, prefix: deps.prefix });
  const logger = deps.logger.child({ component: 'platform-driver', driver: platform.driver });
  switch (platform.driver) {
    case 'process':
      return createProcessDriver(platform, { redis: deps.redis, prefix: deps.prefix, logger, history, ledger });
    case 'docker':
      return createDockerDriver(platform, { client: createDockerClient({ socketPath: platform.docker.socket }), history, ledger, logger });
    case 'kubernetes': {
      const creds = resolveKubeCredentials(platform.kubernetes, deps.kubernetes?.inCluster);
      logger.info({ server: creds.server, credentials: creds.source }, 'kubernetes platform driver');
      return createKubernetesDriver(platform, { client: createKubeClient(creds), history, ledger, logger });
    }
  }
}
