import { z } from 'zod';
import { ConfigError } from './errors';
import { parseRedisUrl } from './redis-url';

/**
 * Env parsing shared by every process. Each process declares a zod object keyed
 * by the env variable names it reads; `parseEnv` validates it and, on failure,
 * throws one ConfigError that names every bad variable and the reason.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
  // Empty strings mean "unset": `FOO= npm start` must behave like no FOO at all.
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(env)';
    return `${key}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, problems);
}

export const port = (defaultPort: number) =>
  z.coerce.number().int('must be an integer').min(0, 'must be 0..65535').max(65535, 'must be 0..65535').default(defaultPort);

export const httpUrl = () =>
  z
    .string()
    .url('must be a URL')
    .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

/** redis://, rediss:// or redis-sentinel://host:port[,host:port...]/master (lib/redis-url.ts). */
export const redisUrl = () =>
  z
    .string()
    .superRefine((u, ctx) => {
      try {
        parseRedisUrl(u);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .default('redis://127.0.0.1:6379');

export const positiveInt = (def: number) => z.coerce.number().int('must be an integer').positive('must be > 0').default(def);

export const positiveNumber = (def: number) => z.coerce.number().positive('must be > 0').default(def);

/** A secret we sign or compare with: long enough that guessing is not an option. */
export const secret = () => z.string().min(16, 'must be at least 16 characters');

/** Variables every long-running process reads. */
export const CommonEnvShape = {
  REDIS_URL: redisUrl(),
  /** Namespace for every Redis key and BullMQ queue, so several stacks can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('mfo'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Interface servers bind to. Local mode is loopback only. */
  HOST: z.string().default('127.0.0.1'),
};

/** JWT settings shared by the server (verifies) and the workers (mint their own token). */
export const JwtEnvShape = {
  JWT_SECRET: secret().optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
};
