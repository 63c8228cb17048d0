import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';

/**
 * The ops config's `platform` section: which driver runs lifecycle actions
 * (restart, deploy, rollback, scale) and the services it may act on. Service
 * names here are the only ones `/ops run restart <service>` accepts.
 */
const Duration = z.string({ error: DURATION_HINT }).refine(isDuration, DURATION_HINT);
const K8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a Kubernetes name (lowercase, digits, -)');

export const PlatformServiceSchema = z.strictObject({
  description: z.string().optional(),
  /** Polled after a lifecycle action until it answers 2xx (or `ready_timeout` passes). */
  ready_url: z.string().url('expected a URL').optional(),
  /** docker: the container's name or id. */
  container: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a container name').optional(),
  /** docker and kubernetes: the image repository releases are tags of (e.g. ghcr.io/acme/mcp-financial-ops). */
  image: z.string().regex(/^[a-z0-9][a-z0-9._\-/:]*[a-z0-9]$/, 'expected an image repository').optional(),
  /** kubernetes: where the Deployment lives. */
  namespace: K8sName.optional(),
  deployment: K8sName.optional(),
  /** kubernetes: the container in the pod template whose image deploy/rollback sets. */
  container_name: K8sName.optional(),
  /** scale refuses more than this. */
  max_replicas: z.number().int().min(1).max(1000).default(10),
});

export const PlatformSchema = z.strictObject({
  driver: z.enum(['process', 'docker', 'kubernetes'], { error: 'expected process, docker or kubernetes' }).default('process'),
  /** How long a lifecycle action waits for the service to be ready again. */
  ready_timeout: Duration.default('60s'),
  services: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a service name (lowercase, digits, -)'), PlatformServiceSchema),
  docker: z.strictObject({ socket: z.string().min(1).default('/var/run/docker.sock') }).default({ socket: '/var/run/docker.sock' }),
  kubernetes: z
    .strictObject({
      /** API server URL; unset: in-cluster (KUBERNETES_SERVICE_HOST and the service account) or `kubeconfig`. */
      api_url: z.string().url().optional(),
      kubeconfig: z.string().optional(),
    })
    .default({}),
});

export type PlatformConfig = z.output<typeof PlatformSchema>;
export type PlatformServiceConfig = PlatformConfig['services'][string];
