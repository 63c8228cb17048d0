/**
 * Text that goes to Slack. Slack parses `<…>` in every `text` it renders
 * (message fallback text, mrkdwn blocks, context elements): `<!channel>` and
 * `<!here>` ping a whole channel, `<@U…>` a person, `<url|label>` is a link the
 * bot vouches for. Every value that comes from an alert or a person goes
 * through one of these before it is put into such a text; the bot's own
 * mentions are written by the bot around the escaped values.
 */

/** Slack's limits: `text` of a message, and the text of one section block. */
export const SLACK_TEXT_MAX = 40_000;
export const SLACK_SECTION_MAX = 3_000;

/**
 * Cuts a message text to Slack's 40,000 characters, saying so at the end: a
 * long text is shortened where it is built, never refused (and so lost) later.
 */
export function clipMessage(text: string, max = SLACK_TEXT_MAX): string {
  if (text.length <= max) return text;
  const note = `\n… (clipped: ${text.length} characters in all)`;
  return `${text.slice(0, max - note.length)}${note}`;
}

/** Escapes what Slack's parser reads as control sequences: `&`, `<`, `>` (Slack's own rule). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts a text to `max` characters, ending with an ellipsis when it was longer. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A value shown as inline code: escaped, and without backticks or line breaks,
 * which would end the code span early and let the rest be read as mrkdwn.
 */
export function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, 'ˋ').replace(/[\r\n]+/g, ' ')) || ' '}\``;
}

/**
 * The URL when it is safe in a Slack link: it parses as http(s), and has no
 * `|`, `<` or `>` (which would end the link or start another one). Otherwise undefined.
 */
export function safeUrl(raw: string | undefined): string | undefined {
  if (!raw || /[|<>\s]/.test(raw)) return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** `<url|label>` for a safe URL (the label escaped), else undefined: no link beats a forged one. */
export function link(url: string | undefined, label: string): string | undefined {
  const safe = safeUrl(url);
  return safe ? `<${safe}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>` : undefined;
}

/** Replaces lone UTF-16 surrogates (invalid Unicode) with U+FFFD, as `String#toWellFormed` does. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** True when no string (key or value) of a JSON-like value holds a UTF-16 surrogate, paired or not. */
function surrogateFree(value: unknown): boolean {
  if (typeof value === 'string') return !SURROGATE.test(value);
  if (Array.isArray(value)) return value.every(surrogateFree);
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (SURROGATE.test(k) || !surrogateFree(v)) return false;
  }
  return true;
}

/**
 * `wellFormed` over every string (keys too) of a JSON-like value. A value without surrogates (nearly every
 * one) is returned as it is, uncopied; otherwise a copy.
 */
export function wellFormedDeep<T>(value: T): T {
  return surrogateFree(value) ? value : rebuildWellFormed(value);
}

function rebuildWellFormed<T>(value: T): T {
  if (typeof value === 'string') return wellFormed(value) as T;
  if (Array.isArray(value)) return value.map((v) => rebuildWellFormed(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [wellFormed(k), rebuildWellFormed(v)])) as T;
  }
  return value;
}
