/**
 * What Slack would parse as a control sequence in a message, and which of
 * those the bot writes itself: shared by the injection and command properties.
 */

/** Who the bot itself may mention: the seeded workspace. Injected mentions use other ids. */
const OWN_USERS = /^<@U0(ALICE|BOB|CAROL|OPSBOT)>$/;
const OWN_GROUPS = /^<!subteam\^S0(OPSLEADS|SECURITY)(\|[^<>]*)?>$/;
/** Links the bot builds: the fixture's Prometheus (vm), the safe runbook host, its own routes. */
const OWN_LINK = /^<https?:\/\/(vm|example\.invalid|127\.0\.0\.1|localhost)[:/][^\s|<>]*(\|[^<>|]*)?>$/;
const OWN_DATE = /^<!date\^\d+\^[^<>]*>$/;
/** The block_ip usage line in the bot's own help (`<address|cidr>`, in a code span): written by the bot, not from input. */
const OWN_PLACEHOLDER = /^<address\|cidr>$/;

/**
 * Every `<…>` sequence Slack would act on in a text: a mention (`<!…>`, `<@…>`,
 * `<#…>`) or a link (a scheme or a `|` label). A bare `<word>` (the bot's
 * usage placeholders, `<duration>`) notifies nobody and links nowhere.
 */
const sequences = (text: string) => (text.match(/<[^>]*>/g) ?? []).filter((s) => /^<[!@#]/.test(s) || /[:|]/.test(s));
export const foreign = (text: string) => sequences(text).filter((s) => !(OWN_USERS.test(s) || OWN_GROUPS.test(s) || OWN_LINK.test(s) || OWN_DATE.test(s) || OWN_PLACEHOLDER.test(s)));

/** All texts Slack parses in a message: fallback text, mrkdwn blocks and elements, attachments. */
export function parsedTexts(message: Record<string, unknown>): string[] {
  const out = typeof message.text === 'string' ? [message.text] : [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      if (typeof o.fallback === 'string') out.push(o.fallback);
      if (typeof o.pretext === 'string') out.push(o.pretext);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  walk(message.attachments);
  return out;
}

