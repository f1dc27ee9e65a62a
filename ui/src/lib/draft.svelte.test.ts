import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';
import { Draft } from './forms.svelte';

describe('Draft', () => {
	it('tracks edits, commits and resets, and follows its source', () => {
		let source = $state({ brand: { name: 'ACME', otpLength: 6 } });
		const cleanup = $effect.root(() => {
			const draft = new Draft(() => ({ otpLength: source.brand.otpLength }));
			flushSync();
			expect(draft.dirty).toBe(false);

			draft.value.otpLength = 8;
			expect(draft.dirty).toBe(true);
			expect(draft.saved.otpLength).toBe(6);

			draft.reset();
			expect(draft.value.otpLength).toBe(6);
			expect(draft.dirty).toBe(false);

			draft.value.otpLength = 7;
			draft.commit();
			expect(draft.saved.otpLength).toBe(7);
			expect(draft.dirty).toBe(false);

			draft.value.otpLength = 9;
			source = { brand: { name: 'OTHER', otpLength: 4 } };
			flushSync();
			expect(draft.value.otpLength).toBe(4);
			expect(draft.dirty).toBe(false);
		});
		cleanup();
	});
});
