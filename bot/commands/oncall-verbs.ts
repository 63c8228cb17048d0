import { handleOncall, handleOncallOverride } from './oncall';
import type { OpsVerb } from './types';

/** `/ops oncall` and `/ops oncall override`, as router verbs (RBAC is the router's). */
export const oncallVerbs: OpsVerb[] = [
  {
    name: 'oncall',
    usage: '/ops oncall',
    summary: 'who is on call now and next',
    run: (ctx) => handleOncall(ctx),
  },
  {
    name: 'oncall override',
    usage: '/ops oncall override @user 2h [reason]',
    summary: 'cover a shift: @user is primary for that long',
    run: (ctx) => handleOncallOverride(ctx, ctx.args),
  },
];
