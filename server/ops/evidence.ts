import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { sha256File, type ProgressStep } from './backups';

export interface EvidenceSource {
  /** File name inside the archive, e.g. "health.json". */
  name: string;
  collect(): Promise<string>;
}

export interface EvidenceResult {
  path: string;
  sha256: string;
  bytes: number;
  files: string[];
  /** Sources that failed; the archive still holds everything else. */
  errors: string[];
}

/**
 * The seed's "preserve evidence" step: every source is written into a
 * staging directory, packed into one tar.gz in EVIDENCE_DIR with a `.sha256`
 * beside it, and the staging directory removed. A failing source does not
 * stop the others: during an incident, partial evidence beats none.
 */
export async function collectEvidence(
  dir: string,
  sources: EvidenceSource[],
  meta: Record<string, unknown>,
  onStep: ProgressStep = () => undefined,
): Promise<EvidenceResult> {
  const total = sources.length + 2;
  let done = 0;
  await fs.mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `evidence-${stamp}-${randomBytes(3).toString('hex')}`;
  const staging = path.join(dir, `.${base}`);
  await fs.mkdir(path.join(staging, base), { recursive: true });
  const errors: string[] = [];
  const files: string[] = [];
  try {
    await Promise.all(
      sources.map(async (s) => {
        try {
          await fs.writeFile(path.join(staging, base, s.name), await s.collect());
          files.push(s.name);
          await onStep(`collected ${s.name}`, ++done, total);
        } catch (err) {
          errors.push(`${s.name}: ${(err as Error).message}`);
          await onStep(`could not collect ${s.name}`, ++done, total);
        }
      }),
    );
    await fs.writeFile(path.join(staging, base, 'meta.json'), JSON.stringify({ ...meta, collectedAt: new Date().toISOString(), files, errors }, null, 2));
    files.push('meta.json');
    const archive = path.join(dir, `${base}.tar.gz`);
    await tar.c({ gzip: true, file: archive, cwd: staging, portable: true }, [base]);
    await onStep(`packed ${path.basename(archive)}`, ++done, total);
    const sha256 = await sha256File(archive);
    await fs.writeFile(`${archive}.sha256`, `${sha256}  ${path.basename(archive)}\n`);
    const { size } = await fs.stat(archive);
    await onStep(`sha256 ${sha256}`, ++done, total);
    return { path: archive, sha256, bytes: size, files: files.sort(), errors };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
