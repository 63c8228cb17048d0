import fs from 'node:fs';
import path from 'node:path';
import { loadRunbooks, RUNBOOKS_DIR } from '../../lib/runbook';
import { PACKAGE_ROOT } from '../../lib/package-root';

/** A read-only text document served as an MCP resource. */
export interface TextDocument {
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
  text: string;
}

export interface DocsCatalog {
  /** The operations guide first, then one runbook per alert, by name. */
  documents: readonly TextDocument[];
  byUri: ReadonlyMap<string, TextDocument>;
  /** Alert names that have a runbook, sorted. */
  alertNames: readonly string[];
  runbook(alertname: string): TextDocument | undefined;
}

export interface DocsCatalogOptions {
  /** @defaultValue lib/runbook's RUNBOOKS_DIR (`runbooks/`) */
  runbooksDir?: string;
  /** @defaultValue `docs/operations-guide.md` of this package */
  guideFile?: string;
}

export const GUIDE_URI = 'docs://operations-guide';
export const runbookUri = (alertname: string) => `runbook://${alertname}`;

export const DEFAULT_GUIDE_FILE = path.join(PACKAGE_ROOT, 'docs', 'operations-guide.md');

/**
 * The operations guide and the runbooks, read once at construction (they
 * ship with the package and change only with a deploy). Runbooks are loaded
 * through lib/runbook.ts, so an invalid one fails here as it does in the bot;
 * the resource text is the YAML file as committed.
 */
export function createDocsCatalog(options: DocsCatalogOptions = {}): DocsCatalog {
  const dir = options.runbooksDir ?? RUNBOOKS_DIR;
  const guideFile = options.guideFile ?? DEFAULT_GUIDE_FILE;
  const documents: TextDocument[] = [
    {
      uri: GUIDE_URI,
      name: 'operations-guide',
      title: 'MCP Financial Server operations guide',
      description: 'Daily operations, metrics, alert rules, escalation and incident procedures (Markdown).',
      mimeType: 'text/markdown',
      text: fs.readFileSync(guideFile, 'utf8'),
    },
  ];
  const runbooks = loadRunbooks(dir);
  for (const [name, rb] of [...runbooks].sort(([a], [b]) => a.localeCompare(b))) {
    documents.push({
      uri: runbookUri(name),
      name: `runbook-${name}`,
      title: `Runbook: ${name}`,
      description: `${rb.title} (${rb.priority}, ${rb.response_time}).`,
      mimeType: 'application/yaml',
      text: fs.readFileSync(path.join(dir, `${name}.yaml`), 'utf8'),
    });
  }
  const byUri = new Map(documents.map((d) => [d.uri, d]));
  const alertNames = [...runbooks.keys()].sort();
  return { documents, byUri, alertNames, runbook: (a) => byUri.get(runbookUri(a)) };
}
