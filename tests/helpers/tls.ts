import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SelfSigned {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
}

/** A self-signed certificate (its own CA) made by the openssl binary, for loopback TLS in tests. */
export function selfSigned(dir: string, name: string, subject: string, extra: string[] = []): SelfSigned {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  const res = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', subject, ...extra],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (res.status !== 0) throw new Error(`openssl failed: ${res.stderr}`);
  return { key: fs.readFileSync(keyPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8'), keyPath, certPath };
}

export const tempDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
