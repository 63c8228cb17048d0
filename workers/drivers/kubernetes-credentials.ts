import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors';
import type { PlatformConfig } from '../../lib/ops-config-platform';

/**
 * Where the Kubernetes API is and how we prove who we are: from a kubeconfig
 * (its current context: server, token or client certificate, CA), from inside
 * a cluster (the service account token and CA the kubelet mounts, and
 * KUBERNETES_SERVICE_HOST/PORT, passed in by main.ts), or a bare `api_url`
 * (e.g. `kubectl proxy` on loopback, no credentials).
 */
export interface InClusterConfig {
  host: string;
  port: string;
  /** @defaultValue /var/run/secrets/kubernetes.io/serviceaccount/token */
  tokenPath: string;
  /** @defaultValue /var/run/secrets/kubernetes.io/serviceaccount/ca.crt */
  caPath: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeCredentials {
  server: string;
  /** Read on each use: bound service account tokens are rotated by the kubelet. */
  token?: () => string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** Said in errors: "kubeconfig /home/x/.kube/config (context prod)", "in-cluster service account". */
  source: string;
}

const KubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.string().url('expected the API server URL'),
          'certificate-authority-data': z.string().optional(),
          'certificate-authority': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.object({
        name: z.string(),
        user: z
          .object({
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            'client-certificate-data': z.string().optional(),
            'client-key-data': z.string().optional(),
            'client-certificate': z.string().optional(),
            'client-key': z.string().optional(),
            exec: z.unknown().optional(),
            'auth-provider': z.unknown().optional(),
          })
          .nullish(),
      }),
    )
    .default([]),
  contexts: z.array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }) })).default([]),
});

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read the kubernetes ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads a file on use, at most once a minute. */
function tokenFromFile(file: string): () => string {
  let cached: { value: string; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 60_000) cached = { value: readFile(file, 'token file').toString('utf8').trim(), at: Date.now() };
    return cached.value;
  };
}

/** Parses kubeconfig text; relative file paths in it are relative to `dir`. */
export function parseKubeconfig(text: string, dir: string, source: string): KubeCredentials {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`kubeconfig ${source}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const parsed = KubeconfigSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ConfigError(`kubeconfig ${source}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const kc = parsed.data;
  const contextName = kc['current-context'];
  const context = kc.contexts.find((c) => c.name === contextName) ?? (contextName ? undefined : kc.contexts[0]);
  if (!context) throw new ConfigError(`kubeconfig ${source}: no context named "${contextName ?? ''}"`);
  const cluster = kc.clusters.find((c) => c.name === context.context.cluster)?.cluster;
  if (!cluster) throw new ConfigError(`kubeconfig ${source}: context ${context.name} names cluster "${context.context.cluster}", which is not in clusters`);
  const user = context.context.user ? (kc.users.find((u) => u.name === context.context.user)?.user ?? undefined) : undefined;
  if (context.context.user && user === undefined && !kc.users.some((u) => u.name === context.context.user)) {
    throw new ConfigError(`kubeconfig ${source}: context ${context.name} names user "${context.context.user}", which is not in users`);
  }
  const resolve = (p: string) => (path.isAbsolute(p) ? p : path.join(dir, p));
  const b64 = (s: string) => Buffer.from(s, 'base64');
  if (user && !user.token && !user.tokenFile && !user['client-certificate-data'] && !user['client-certificate'] && (user.exec || user['auth-provider'])) {
    throw new ConfigError(`kubeconfig ${source}: user ${context.context.user} uses an exec or auth-provider plugin, which this driver does not run; give it a token or a client certificate`);
  }
  const certFile = user?.['client-certificate'];
  const keyFile = user?.['client-key'];
  return {
    server: cluster.server.replace(/\/+$/, ''),
    token: user?.token ? () => user.token! : user?.tokenFile ? tokenFromFile(resolve(user.tokenFile)) : undefined,
    ca: cluster['certificate-authority-data']
      ? b64(cluster['certificate-authority-data'])
      : cluster['certificate-authority']
        ? readFile(resolve(cluster['certificate-authority']), 'CA file')
        : undefined,
    cert: user?.['client-certificate-data'] ? b64(user['client-certificate-data']) : certFile ? readFile(resolve(certFile), 'client certificate') : undefined,
    key: user?.['client-key-data'] ? b64(user['client-key-data']) : keyFile ? readFile(resolve(keyFile), 'client key') : undefined,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] ?? false,
    source: `kubeconfig ${source} (context ${context.name})`,
  };
}

/** Picks the credentials the ops config and the environment allow, in that order: kubeconfig, in-cluster, bare api_url. */
export function resolveKubeCredentials(config: PlatformConfig['kubernetes'], inCluster?: InClusterConfig): KubeCredentials {
  if (config.kubeconfig) {
    const file = config.kubeconfig;
    const creds = parseKubeconfig(readFile(file, 'kubeconfig').toString('utf8'), path.dirname(file), file);
    return config.api_url ? { ...creds, server: config.api_url.replace(/\/+$/, '') } : creds;
  }
  if (inCluster) {
    const host = inCluster.host.includes(':') ? `[${inCluster.host}]` : inCluster.host;
    // The token is read now once, so a missing mount fails at start, then re-read as it rotates.
    const token = tokenFromFile(inCluster.tokenPath);
    token();
    return {
      server: (config.api_url ?? `https://${host}:${inCluster.port}`).replace(/\/+$/, ''),
      token,
      ca: readFile(inCluster.caPath, 'service account CA'),
      insecureSkipTlsVerify: false,
      source: 'in-cluster service account',
    };
  }
  if (config.api_url) return { server: config.api_url.replace(/\/+$/, ''), insecureSkipTlsVerify: false, source: `api_url ${config.api_url}` };
  throw new ConfigError(
    'the kubernetes platform driver needs platform.kubernetes.kubeconfig, platform.kubernetes.api_url, or to run inside a cluster (KUBERNETES_SERVICE_HOST and the service account mount)',
  );
}
