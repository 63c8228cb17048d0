import crypto from 'node:crypto';
import { validateBlocks } from '../block-kit';
import { type ApiArgs, optJson, optString, SlackApiFailure } from './api-context';

/** Slack refuses text longer than this with `msg_too_long`. */
export const MAX_TEXT_LENGTH = 40_000;

export interface MessageContent {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

/**
 * Reads and checks text, blocks and attachments the way chat.postMessage does:
 * `no_text` when there is nothing to show, `invalid_blocks` with Slack's lines,
 * `msg_too_long` past 40,000 characters.
 */
export function readContent(args: ApiArgs, opts: { required: boolean }): MessageContent {
  const text = optString(args, 'text');
  const blocks = optJson(args, 'blocks', 'invalid_blocks_format');
  const attachments = optJson(args, 'attachments', 'invalid_attachments');
  if (blocks !== undefined) {
    const verdict = validateBlocks(blocks);
    if (!verdict.ok) {
      throw new SlackApiFailure(verdict.error, {
        errors: verdict.errors,
        response_metadata: { messages: verdict.errors.map((e) => `[ERROR] ${e}`) },
      });
    }
  }
  if (attachments !== undefined && !Array.isArray(attachments)) throw new SlackApiFailure('invalid_attachments');
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
  if (opts.required && text === undefined && !hasBlocks && !hasAttachments) throw new SlackApiFailure('no_text');
  if (text !== undefined && text.length > MAX_TEXT_LENGTH) throw new SlackApiFailure('msg_too_long');
  return {
    text,
    blocks: blocks === undefined ? undefined : withIds(blocks as unknown[]),
    attachments: attachments as unknown[] | undefined,
  };
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Slack's generated ids look like "mHZ9k": five letters or digits. */
const shortId = () => Array.from({ length: 5 }, () => ID_CHARS[crypto.randomInt(ID_CHARS.length)]).join('');

/** Slack gives every stored block a block_id and every interactive element an action_id. */
export function withIds(blocks: unknown[]): unknown[] {
  return blocks.map((raw) => {
    const block = { ...(raw as Record<string, unknown>) };
    if (typeof block.block_id !== 'string') block.block_id = shortId();
    if (Array.isArray(block.elements) && block.type === 'actions') {
      block.elements = block.elements.map((e) => withActionId(e));
    }
    if (block.accessory !== undefined) block.accessory = withActionId(block.accessory);
    if (block.element !== undefined) block.element = withActionId(block.element);
    return block;
  });
}

function withActionId(e: unknown): unknown {
  if (typeof e !== 'object' || e === null) return e;
  const element = e as Record<string, unknown>;
  if (element.type === 'image' || typeof element.action_id === 'string') return element;
  return { ...element, action_id: shortId() };
}
