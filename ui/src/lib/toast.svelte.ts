import { ApiError } from '$lib/api';

export type ToastTone = 'success' | 'info' | 'danger';

export interface ToastItem {
	id: number;
	tone: ToastTone;
	message: string;
}

const DURATION: Record<ToastTone, number> = { success: 4000, info: 5000, danger: 8000 };

/**
 * Short-lived notifications, rendered by <Toaster /> in the root layout (announced through
 * aria-live regions). For results of an action the user just took; form errors belong next
 * to their fields instead.
 */
class Toasts {
	items = $state<ToastItem[]>([]);
	#next = 1;

	show(tone: ToastTone, message: string, duration = DURATION[tone]): number {
		const id = this.#next++;
		this.items = [...this.items.slice(-4), { id, tone, message }];
		if (duration > 0) setTimeout(() => this.dismiss(id), duration);
		return id;
	}

	success(message: string): number {
		return this.show('success', message);
	}

	info(message: string): number {
		return this.show('info', message);
	}

	/** An error toast; accepts an ApiError (or anything thrown) as well as text. */
	error(error: unknown): number {
		const message = typeof error === 'string' ? error : ApiError.from(error).message;
		return this.show('danger', message);
	}

	dismiss(id: number): void {
		this.items = this.items.filter((t) => t.id !== id);
	}
}

export const toast = new Toasts();
