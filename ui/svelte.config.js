import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	compilerOptions: {
		// Runes mode for this project's components (dependencies keep their own mode).
		runes: ({ filename }) => (filename.split(/[/\\]/).includes('node_modules') ? undefined : true)
	},
	kit: {
		// SPA: every unknown path gets index.html; the client router takes over.
		adapter: adapter({
			pages: 'build',
			assets: 'build',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		// A <meta> policy with the hash of SvelteKit's inline bootstrap script: the only policy
		// in the desktop window (Tauri adds none: `csp: null` in tauri.conf.json), and the same
		// as the header otpd's admin listener sends in a browser. `ipc:` is the desktop app's
		// command channel. (frame-ancestors cannot be set by <meta>; the header sets it.)
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				'connect-src': ['self', 'ipc:', 'http://ipc.localhost'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};

export default config;
