/**
 * BullMQ worker options for a job that must be taken over within seconds when its process dies.
 *
 * A job left active by a dead process (or a Redis restart) is picked up again only once its lock has expired
 * and a stall check ran: with BullMQ's defaults (30 s lock, 30 s check) that is up to a minute in which an
 * escalation step does not fire, a runbook result does not post, or a channel gets no Slack writes. BullMQ renews
 * the lock every lockDuration / 2 while the job runs. Every user of these options makes a replay safe (claim
 * markers, journals, stable outbox ids, leased lanes), so a job that stalls under a blocked event loop and runs
 * again does nothing twice; hence several stalls are allowed before BullMQ gives up on a job.
 */
export const PROMPT_TAKEOVER = { lockDuration: 5_000, stalledInterval: 2_000, maxStalledCount: 5 } as const;
