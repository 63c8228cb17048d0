import { SANDBOX_BOT, SANDBOX_TEAM } from '../seed';
import type { ApiMethod } from './api-context';

const test: ApiMethod = (ctx) => ({
  url: `${ctx.baseUrl}/`,
  team: SANDBOX_TEAM.name,
  user: SANDBOX_BOT.name,
  team_id: SANDBOX_TEAM.id,
  user_id: SANDBOX_BOT.userId,
  bot_id: SANDBOX_BOT.botId,
  is_enterprise_install: false,
});

export const authMethods: Record<string, ApiMethod> = { 'auth.test': test };
