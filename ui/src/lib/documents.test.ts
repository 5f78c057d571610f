import { afterEach, describe, expect, it } from 'vitest';
import { setTransport } from './ipc';
import { fakeCore } from './testing/fixtures';
import { CHUNK_BYTES, storeDocument, toBase64 } from './documents';

function file(name: string, bytes: Uint8Array) {
	return {
		name,
		size: bytes.length,
		slice: (a: number, b: number) => ({ arrayBuffer: () => Promise.resolve(bytes.slice(a, b).buffer) })
	};
}

afterEach(() => setTransport(null));

describe('storeDocument', () => {
	it('hands the file over in pieces, in order, then names it', async () => {
		const bytes = new Uint8Array(CHUNK_BYTES * 2 + 10).map((_, i) => i % 251);
		const calls: Array<[string, unknown]> = [];
		const got: string[] = [];
		setTransport(
			fakeCore(
				{
					document_begin: 'u1',
					document_chunk: (a: { data: string }) => {
						got.push(a.data);
						return null;
					},
					document_finish: { sha256: 'ab'.repeat(32), name: '总平面图.pdf', size: bytes.length }
				},
				calls
			)
		);
		const seen: number[] = [];
		const doc = await storeDocument(file('总平面图.pdf', bytes), (p) => seen.push(p));
		expect(doc.name).toBe('总平面图.pdf');
		expect(got).toHaveLength(3);
		expect(got.join('|')).toBe(
			[bytes.slice(0, CHUNK_BYTES), bytes.slice(CHUNK_BYTES, 2 * CHUNK_BYTES), bytes.slice(2 * CHUNK_BYTES)]
				.map(toBase64)
				.join('|')
		);
		expect(seen.at(-1)).toBe(1);
		expect(calls.at(-1)).toEqual(['document_finish', { uploadId: 'u1', name: '总平面图.pdf' }]);
	});

	it('drops a partial upload when a piece is refused', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					document_begin: 'u2',
					document_chunk: () => {
						throw { code: 'request.invalid', message: 'too large' };
					},
					document_cancel: null
				},
				calls
			)
		);
		await expect(storeDocument(file('a.pdf', new Uint8Array(5)))).rejects.toMatchObject({ code: 'request.invalid' });
		expect(calls.map((c) => c[0])).toEqual(['document_begin', 'document_chunk', 'document_cancel']);
	});

	it('encodes base64 like the platform', () => {
		expect(toBase64(new TextEncoder().encode('govchain'))).toBe('Z292Y2hhaW4=');
	});
});
