/**
 * Hardware keys (PKCS#11 tokens): the words for what a token said. The core's codes `token.*` get a
 * sentence with the next step in the user's language; the code itself is always shown beside it.
 */
import { CATALOGS, t, type MessageKey } from './i18n';
import type { IpcError } from './ipc';

/** The user's-language explanation of a token error, or the core's message for other codes. */
export function tokenErrorText(e: Pick<IpcError, 'code' | 'message'>): string {
	const key = `token.error.${e.code}`;
	return Object.prototype.hasOwnProperty.call(CATALOGS['zh-CN'], key) ? t(key as MessageKey) : e.message;
}
