/**
 * Attaching files: each file the official picks is read piece by piece and handed to the core, which
 * hashes it (SHA-256) while storing it on this computer. Only the hash goes into a transaction.
 */
import type { StoredDocument } from './bindings/StoredDocument';
import { api } from './ipc';

/** Bytes per piece handed to the core (1 MiB). */
export const CHUNK_BYTES = 1024 * 1024;

/** Base64 of `bytes`, in slices small enough for `String.fromCharCode`. */
export function toBase64(bytes: Uint8Array): string {
	let bin = '';
	for (let i = 0; i < bytes.length; i += 0x8000) {
		bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	}
	return btoa(bin);
}

/** What of a file the upload needs (a `File` has all of it). */
export interface PickedFile {
	name: string;
	size: number;
	slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * Stores `file` in the core's document store, reporting progress (0…1); on any failure the partial
 * upload is dropped and the error thrown.
 */
export async function storeDocument(file: PickedFile, progress?: (done: number) => void): Promise<StoredDocument> {
	const id = await api.documentBegin();
	try {
		for (let at = 0; at < file.size; at += CHUNK_BYTES) {
			const piece = new Uint8Array(await file.slice(at, Math.min(file.size, at + CHUNK_BYTES)).arrayBuffer());
			await api.documentChunk(id, toBase64(piece));
			progress?.(Math.min(1, (at + piece.length) / file.size));
		}
		return await api.documentFinish(id, file.name);
	} catch (e) {
		await api.documentCancel(id).catch(() => undefined);
		throw e;
	}
}
