import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The operations guide the product comes from, as committed in docs/ (a copy
 * of the seed), so tests that check the guide's PromQL run on a clean clone.
 * SEEDS_DIR points them at another folder of .txt guides instead.
 */
export function operationsGuideTexts(): string[] {
  const dir = process.env.SEEDS_DIR;
  if (dir) return fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  return [fs.readFileSync(path.join(ROOT, 'docs', 'operations-guide.md'), 'utf8')];
}

/** Every expression inside ```promql blocks of the guide (comment lines dropped). */
export function guidePromql(): string[] {
  const exprs: string[] = [];
  for (const text of operationsGuideTexts()) {
    for (const block of text.matchAll(/```promql\n([\s\S]*?)```/g)) {
      for (const line of block[1]!.split('\n')) {
        const expr = line.trim();
        if (expr && !expr.startsWith('#')) exprs.push(expr);
      }
    }
  }
  return exprs;
}
