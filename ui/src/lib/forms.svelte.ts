import { tick, untrack } from 'svelte';
import { ApiError } from '$lib/api';

/**
 * The state of one form: field errors, a form-level error and the submitting flag.
 *
 * `fields` lists the server field names this form shows an input for. A server error whose
 * `field` is one of them goes next to that input (`form.errors[field]`, without the
 * `"field: "` prefix otpd's messages start with); any other error —
 * no field, or a field this form does not show — becomes the form-level message, so nothing
 * is ever silently dropped. An entry ending in `*` matches by prefix: `'testIdentifiers*'`
 * catches `testIdentifiers[0].otp` (still stored under the full name).
 *
 * ```ts
 * const form = new FormState(['otpLength', 'settings.host']);
 * await form.submit(() => brands.update(name, draft));   // true when it succeeded
 * <NumberField error={form.errors.otpLength} … />
 * ```
 */
export class FormState {
	errors = $state<Record<string, string>>({});
	formError = $state<string | null>(null);
	submitting = $state(false);
	/** The last error as thrown (e.g. to read `retryAfter`). */
	lastError = $state<ApiError | null>(null);

	readonly #fields: readonly string[];

	constructor(fields: readonly string[] = []) {
		this.#fields = fields;
	}

	get hasErrors(): boolean {
		return this.formError !== null || Object.keys(this.errors).length > 0;
	}

	/** True when the server field name belongs to an input of this form. */
	shows(field: string): boolean {
		return this.#fields.some((f) =>
			f.endsWith('*') ? field.startsWith(f.slice(0, -1)) : f === field
		);
	}

	setError(field: string, message: string): void {
		this.errors = { ...this.errors, [field]: message };
	}

	/** Clears one field's error (e.g. when its value changes), or everything. */
	clear(field?: string): void {
		if (field === undefined) {
			this.errors = {};
			this.formError = null;
			this.lastError = null;
		} else if (field in this.errors) {
			const { [field]: _removed, ...rest } = this.errors;
			this.errors = rest;
		}
	}

	/** Puts an error thrown by a service call where the user will see it. */
	apply(e: unknown): void {
		const error = ApiError.from(e);
		this.lastError = error;
		if (error.field && this.shows(error.field)) {
			this.setError(error.field, capitalise(error.fieldMessage));
		} else {
			this.formError = error.message;
		}
	}

	/**
	 * Runs `action` unless a submit is already running; clears old errors first, maps a thrown
	 * error onto the form. Resolves true on success. (On a 401 the global handler is already
	 * taking the app to /login.)
	 */
	async submit(action: () => Promise<unknown>): Promise<boolean> {
		if (this.submitting) return false;
		this.submitting = true;
		this.clear();
		try {
			await action();
			return true;
		} catch (e) {
			this.apply(e);
			return false;
		} finally {
			this.submitting = false;
		}
	}
}

/**
 * The edited copy of some server data, for one FormSection: `value` is what the inputs bind
 * to, `saved` what the server has, `dirty` whether they differ. Create it in a component's
 * script with a function that reads the source (a prop, load data); when the source changes
 * (another brand opened, data reloaded) the draft starts over from it.
 *
 * ```ts
 * const codes = new Draft(() => ({ otpLength: data.brand.settings.otpLength }));
 * // <NumberField bind:value={codes.value.otpLength} />, <FormSection dirty={codes.dirty} …>
 * async function save() {
 *   const brand = await brands.update(data.brand.name, codes.value);
 *   codes.commit({ otpLength: brand.settings.otpLength });
 * }
 * ```
 */
export class Draft<T extends object> {
	saved = $state() as T;
	value = $state() as T;
	readonly dirty = $derived(JSON.stringify(this.value) !== JSON.stringify(this.saved));

	constructor(source: () => T) {
		this.#load(source());
		$effect.pre(() => {
			const next = source();
			untrack(() => this.#load(next));
		});
	}

	/** After a successful save: `next` (what the server answered, else `value`) is saved. */
	commit(next?: T): void {
		this.#load(next ?? ($state.snapshot(this.value) as T));
	}

	/** Throws the edits away. */
	reset(): void {
		this.value = $state.snapshot(this.saved) as T;
	}

	#load(next: T): void {
		this.saved = $state.snapshot(next) as T;
		this.value = $state.snapshot(next) as T;
	}
}

function capitalise(s: string): string {
	return s.charAt(0).toUpperCase() + s.slice(1);
}

/** After errors render, moves focus to the first invalid control inside `root`. */
export async function focusFirstInvalid(root: HTMLElement | null | undefined): Promise<void> {
	await tick();
	const el = root?.querySelector<HTMLElement>('[aria-invalid="true"]');
	el?.focus();
}
