/**
 * Citizens named in a request: the document types the core hashes (PROTOCOL.md §12.9) and the
 * blacklist's reason codes. The number is handed to the core, which hashes it with the consortium
 * identity key from the keychain; the UI never keeps it after signing.
 */
import type { PersonRef } from './bindings/PersonRef';

export const DOC_TYPES = ['cn-rid', 'passport'] as const;
export type DocType = (typeof DOC_TYPES)[number];

/** A person by the number as typed (the core normalises full-width digits, spaces and case). */
export function personRef(docType: DocType, number: string): PersonRef {
	return { form: 'number', doc_type: docType, number };
}

/** A person by an identity hash already known (64 hex). */
export function personHash(hash: string): PersonRef {
	return { form: 'hash', hash };
}

/** Reason codes in use across departments (a code is any lowercase slug; these are suggested). */
export const REASON_CODES = ['loan-default', 'wage-arrears', 'subsidy-fraud', 'tax-evasion'] as const;
