import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// Where `npm run dev` sends API calls: a running otpd admin listener, or the mock
// (`npm run mock`, then OTPD_ADMIN_URL=http://127.0.0.1:8089 npm run dev).
const adminUrl = process.env.OTPD_ADMIN_URL ?? 'http://127.0.0.1:8081';

export default defineConfig({
	plugins: [sveltekit()],
	build: {
		// No "[PLUGIN_TIMINGS]" notes in the build output (the slow part is SvelteKit's own
		// prerender step, nothing to act on).
		rolldownOptions: { checks: { pluginTimings: false } }
	},
	server: {
		port: 5173,
		strictPort: false,
		proxy: {
			'/admin/api': { target: adminUrl, changeOrigin: false },
			'/metrics': { target: adminUrl, changeOrigin: false }
		}
	},
	preview: {
		proxy: {
			'/admin/api': { target: adminUrl, changeOrigin: false },
			'/metrics': { target: adminUrl, changeOrigin: false }
		}
	},
	// Component tests mount Svelte's client build in jsdom.
	resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
	test: {
		environment: 'jsdom',
		include: ['src/**/*.{test,spec}.{js,ts}'],
		setupFiles: ['./vitest-setup.ts'],
		restoreMocks: true
	}
});
