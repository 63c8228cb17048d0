import fc from 'fast-check';

/**
 * Every property runs with a fixed seed and a fixed number of runs, so CI time
 * is bounded and a failure is replayable: fast-check prints the seed and the
 * counterexample path. FUZZ_SEED replays another seed locally.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203);

export function runs(numRuns: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns, endOnFailure: true };
}

/** Strings that stress encodings: unicode (astral, RTL, combining), NULs and other control characters. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('\u0000', 'a\u0000b', '\u202e', 'e\u0301', '\ud83d\ude00', '\uffff', '\r\n', '\t', '\u2028', ''),
  );
