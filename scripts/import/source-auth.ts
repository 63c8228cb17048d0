import { ConfigError } from '../../lib/errors';
import type { SourceName } from '../../lib/importers/run-import';

/** The Authorization header each source expects, from its token in the environment. */
export function sourceAuth(source: SourceName, env: NodeJS.ProcessEnv): string {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new ConfigError(`${name} must be set to read ${source}`);
    return v;
  };
  switch (source) {
    case 'grafana-oncall':
      return need('GRAFANA_ONCALL_TOKEN');
    case 'opsgenie':
      return `GenieKey ${need('OPSGENIE_API_KEY')}`;
    case 'pagerduty':
      return `Token token=${need('PAGERDUTY_TOKEN')}`;
  }
}
