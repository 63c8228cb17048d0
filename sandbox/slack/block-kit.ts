/**
 * Block Kit checks Slack applies before it accepts a message. Slack answers a
 * bad payload with `invalid_blocks` and one line per problem; we report the same
 * so a bot that passes here does not fail on real Slack.
 */
export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  actionsElements: 25,
  contextElements: 10,
  buttonText: 75,
  actionId: 255,
  blockId: 255,
  buttonValue: 2000,
  buttonUrl: 3000,
  imageAltText: 2000,
  inputLabel: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

const KNOWN_BLOCKS = new Set(['section', 'header', 'context', 'actions', 'divider', 'image', 'rich_text', 'input', 'file', 'video', 'markdown']);
const INTERACTIVE_ELEMENTS = new Set([
  'button',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'overflow',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'checkboxes',
  'radio_buttons',
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'workflow_button',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type BlocksVerdict = { ok: true } | { ok: false; error: 'invalid_blocks' | 'invalid_blocks_format'; errors: string[] };

export function validateBlocks(blocks: unknown): BlocksVerdict {
  if (!Array.isArray(blocks)) return { ok: false, error: 'invalid_blocks_format', errors: ['blocks must be an array'] };
  const errors: string[] = [];
  if (blocks.length > BLOCK_LIMITS.blocksPerMessage) {
    errors.push(`must provide an array with no more than ${BLOCK_LIMITS.blocksPerMessage} items [json-pointer:/blocks]`);
  }
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `/blocks/${i}`;
    if (!isObj(block)) {
      errors.push(`must be an object [json-pointer:${at}]`);
      return;
    }
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > BLOCK_LIMITS.blockId) errors.push(`must be less than ${BLOCK_LIMITS.blockId + 1} characters [json-pointer:${at}/block_id]`);
      if (blockIds.has(block.block_id)) errors.push(`non-unique block_id "${block.block_id}" [json-pointer:${at}/block_id]`);
      blockIds.add(block.block_id);
    }
    checkBlock(block, at, errors, actionIds);
  });
  return errors.length === 0 ? { ok: true } : { ok: false, error: 'invalid_blocks', errors };
}

function checkBlock(block: Obj, at: string, errors: string[], actionIds: Set<string>): void {
  const type = block.type;
  if (typeof type !== 'string' || !KNOWN_BLOCKS.has(type)) {
    errors.push(`unsupported type: ${String(type)} [json-pointer:${at}/type]`);
    return;
  }
  switch (type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) errors.push(`must provide text or fields [json-pointer:${at}]`);
      if (block.text !== undefined) checkText(block.text, `${at}/text`, BLOCK_LIMITS.sectionText, errors);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length > BLOCK_LIMITS.sectionFields) {
          errors.push(`must provide an array with no more than ${BLOCK_LIMITS.sectionFields} items [json-pointer:${at}/fields]`);
        } else {
          block.fields.forEach((f, j) => checkText(f, `${at}/fields/${j}`, BLOCK_LIMITS.sectionFieldText, errors));
        }
      }
      if (block.accessory !== undefined) checkElement(block.accessory, `${at}/accessory`, errors, actionIds);
      break;
    }
    case 'header':
      checkText(block.text, `${at}/text`, BLOCK_LIMITS.headerText, errors, 'plain_text');
      break;
    case 'context':
      if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > BLOCK_LIMITS.contextElements) {
        errors.push(`must provide an array of 1 to ${BLOCK_LIMITS.contextElements} items [json-pointer:${at}/elements]`);
      }
      break;
    case 'actions':
      if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > BLOCK_LIMITS.actionsElements) {
        errors.push(`must provide an array of 1 to ${BLOCK_LIMITS.actionsElements} items [json-pointer:${at}/elements]`);
      } else {
        block.elements.forEach((e, j) => checkElement(e, `${at}/elements/${j}`, errors, actionIds));
      }
      break;
    case 'image':
      if (typeof block.image_url !== 'string' && !isObj(block.slack_file)) errors.push(`must provide image_url [json-pointer:${at}/image_url]`);
      if (typeof block.alt_text !== 'string' || block.alt_text.length > BLOCK_LIMITS.imageAltText) {
        errors.push(`must provide alt_text of at most ${BLOCK_LIMITS.imageAltText} characters [json-pointer:${at}/alt_text]`);
      }
      break;
    case 'rich_text':
      if (!Array.isArray(block.elements)) errors.push(`must provide an array [json-pointer:${at}/elements]`);
      break;
    case 'input':
      checkText(block.label, `${at}/label`, BLOCK_LIMITS.inputLabel, errors, 'plain_text');
      if (!isObj(block.element)) errors.push(`must provide an object [json-pointer:${at}/element]`);
      else checkElement(block.element, `${at}/element`, errors, actionIds);
      break;
    default:
      break;
  }
}

/** A text object: `{type: 'plain_text'|'mrkdwn', text}` with 1..max characters. */
function checkText(t: unknown, at: string, max: number, errors: string[], only?: 'plain_text'): void {
  if (!isObj(t)) {
    errors.push(`must provide an object [json-pointer:${at}]`);
    return;
  }
  const allowed = only ? [only] : ['plain_text', 'mrkdwn'];
  if (typeof t.type !== 'string' || !allowed.includes(t.type)) errors.push(`must be one of ${allowed.join(', ')} [json-pointer:${at}/type]`);
  if (typeof t.text !== 'string' || t.text.length === 0) errors.push(`must be more than 0 characters [json-pointer:${at}/text]`);
  else if (t.text.length > max) errors.push(`must be less than ${max + 1} characters [json-pointer:${at}/text]`);
}

function checkElement(e: unknown, at: string, errors: string[], actionIds: Set<string>): void {
  if (!isObj(e)) {
    errors.push(`must provide an object [json-pointer:${at}]`);
    return;
  }
  if (typeof e.type !== 'string' || (!INTERACTIVE_ELEMENTS.has(e.type) && e.type !== 'image')) {
    errors.push(`unsupported type: ${String(e.type)} [json-pointer:${at}/type]`);
    return;
  }
  if (e.action_id !== undefined) {
    if (typeof e.action_id !== 'string' || e.action_id.length === 0 || e.action_id.length > BLOCK_LIMITS.actionId) {
      errors.push(`must be 1 to ${BLOCK_LIMITS.actionId} characters [json-pointer:${at}/action_id]`);
    } else if (actionIds.has(e.action_id)) {
      errors.push(`non-unique action_id "${e.action_id}" [json-pointer:${at}/action_id]`);
    } else {
      actionIds.add(e.action_id);
    }
  }
  if (e.confirm !== undefined) checkConfirm(e.confirm, `${at}/confirm`, errors);
  if (e.type !== 'button') return;
  checkText(e.text, `${at}/text`, BLOCK_LIMITS.buttonText, errors, 'plain_text');
  if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > BLOCK_LIMITS.buttonValue)) {
    errors.push(`must be less than ${BLOCK_LIMITS.buttonValue + 1} characters [json-pointer:${at}/value]`);
  }
  if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > BLOCK_LIMITS.buttonUrl)) {
    errors.push(`must be less than ${BLOCK_LIMITS.buttonUrl + 1} characters [json-pointer:${at}/url]`);
  }
  if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') {
    errors.push(`must be one of primary, danger [json-pointer:${at}/style]`);
  }
}

/** A confirmation dialog: Slack shows it before the click is sent. */
function checkConfirm(c: unknown, at: string, errors: string[]): void {
  if (!isObj(c)) {
    errors.push(`must provide an object [json-pointer:${at}]`);
    return;
  }
  checkText(c.title, `${at}/title`, BLOCK_LIMITS.confirmTitle, errors, 'plain_text');
  checkText(c.text, `${at}/text`, BLOCK_LIMITS.confirmText, errors);
  checkText(c.confirm, `${at}/confirm`, BLOCK_LIMITS.confirmButton, errors, 'plain_text');
  checkText(c.deny, `${at}/deny`, BLOCK_LIMITS.confirmButton, errors, 'plain_text');
}

/** Finds the first element with this action_id in a message's blocks, and the block it sits in. */
export function findAction(blocks: unknown[] | undefined, actionId: string): { element: Obj; blockId: string } | undefined {
  for (const [i, block] of (blocks ?? []).entries()) {
    if (!isObj(block)) continue;
    const candidates = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory, block.element];
    for (const e of candidates) {
      if (isObj(e) && e.action_id === actionId) {
        return { element: e, blockId: typeof block.block_id === 'string' ? block.block_id : `b${i}` };
      }
    }
  }
  return undefined;
}
