/**
 * The brand a per-brand page (Limits, Signing) works on: the brand list for the picker, the
 * chosen brand from `?brand=` (the first brand when none is named), and that brand loaded
 * fresh. Create it in a page's script (it sets up effects).
 */
import { untrack } from 'svelte';
import { goto } from '$app/navigation';
import { page } from '$app/state';
import { getBrand, listBrands, type BrandView } from '$lib/services/brands';
import { mergeInto } from './settings';

export class BrandChooser {
	list = $state<BrandView[] | null>(null);
	listError = $state<unknown>(null);
	brand = $state<BrandView | null>(null);
	error = $state<unknown>(null);
	/** The name in `?brand=` (upper-case, as stored), or '' when none is given. */
	readonly name = $derived((page.url.searchParams.get('brand') ?? '').trim().toUpperCase());

	#seq = 0;

	constructor() {
		$effect(() => {
			untrack(() => void this.loadList());
		});
		$effect(() => {
			const name = this.name;
			const list = this.list;
			untrack(() => this.#follow(name, list));
		});
	}

	async loadList(): Promise<void> {
		this.listError = null;
		try {
			this.list = await listBrands();
		} catch (e) {
			this.listError = e;
		}
	}

	/** Loads (again) the chosen brand. */
	async loadBrand(name: string = this.name): Promise<void> {
		if (!name) return;
		const mine = ++this.#seq;
		this.error = null;
		if (this.brand?.name !== name) this.brand = null;
		try {
			const loaded = await getBrand(name);
			if (mine === this.#seq) this.brand = loaded;
		} catch (e) {
			if (mine === this.#seq) this.error = e;
		}
	}

	/** Switches to another brand (a history entry, so Back returns to the previous one). */
	choose(name: string): void {
		if (name && name !== this.name) {
			void goto(`${page.url.pathname}?brand=${encodeURIComponent(name)}`, {
				keepFocus: true,
				noScroll: true
			});
		}
	}

	/** The server answered with the brand as it now is. */
	saved(next: BrandView): void {
		if (this.brand && this.brand.name === next.name) mergeInto(this.brand, next, ['settings']);
		else this.brand = next;
		const i = this.list?.findIndex((b) => b.name === next.name) ?? -1;
		if (this.list && i >= 0) this.list[i] = next;
	}

	#follow(name: string, list: BrandView[] | null): void {
		if (!name) {
			const first = list?.[0];
			if (first) {
				void goto(`${page.url.pathname}?brand=${encodeURIComponent(first.name)}`, {
					replaceState: true,
					keepFocus: true,
					noScroll: true
				});
			}
			return;
		}
		if (this.brand?.name !== name) void this.loadBrand(name);
	}
}
