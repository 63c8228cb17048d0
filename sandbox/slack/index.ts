export { createSlackSandbox, type SlackSandbox } from './sandbox';
export type { SlackSandboxConfig, SeedChannel, SeedUser, SeedUsergroup, SandboxUsergroup, StoredMessage, EphemeralMessage } from './types';
export { createSandboxClient, type SandboxClient, type SlackMessage, type PersonActionResponse } from './sandbox-client';
export { SANDBOX_BOT, SANDBOX_TEAM, DEFAULT_CHANNELS, DEFAULT_USERS, DEFAULT_USERGROUPS } from './seed';
export { SLACK_RATE_LIMITS, TIERS, type RateLimit, type RateLimitOverrides, type RateLimitTable } from './rate-limits';
export { validateBlocks, BLOCK_LIMITS } from './block-kit';
export type { SandboxStats, MethodCounts } from './stats';
export type { CommandRequest, ClickRequest } from './person-actions';
export type { PostRequest } from './events';
