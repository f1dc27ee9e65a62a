import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import { defineConfig } from 'eslint/config';
import svelteConfig from './svelte.config.js';

export default defineConfig(
	{
		ignores: ['build/', '.svelte-kit/', 'node_modules/', 'coverage/', 'src/lib/api/schema.d.ts']
	},
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	...svelte.configs.prettier,
	{
		languageOptions: {
			globals: { ...globals.browser, ...globals.node }
		}
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
		languageOptions: {
			parserOptions: {
				projectService: true,
				extraFileExtensions: ['.svelte'],
				parser: ts.parser,
				svelteConfig
			}
		}
	},
	{
		rules: {
			// Pages must go through src/lib/api (Transport): see README "Conventions".
			'no-restricted-globals': [
				'error',
				{ name: 'fetch', message: 'Use the API client ($lib/api) so the desktop transport works.' },
				{ name: 'sessionStorage', message: 'Nothing goes to sessionStorage.' },
				{ name: 'localStorage', message: 'Only $lib/theme.svelte.ts may use storage.' }
			],
			'no-restricted-properties': [
				'error',
				{ object: 'window', property: 'fetch', message: 'Use the API client ($lib/api).' },
				{ object: 'globalThis', property: 'fetch', message: 'Use the API client ($lib/api).' },
				{
					object: 'window',
					property: 'sessionStorage',
					message: 'Nothing goes to sessionStorage.'
				},
				{
					object: 'window',
					property: 'localStorage',
					message: 'Only $lib/theme.svelte.ts may use storage.'
				}
			],
			// The console is always served at the root of its origin (admin listener, Tauri
			// window), so links and goto() need no base-path resolve(); see README.
			'svelte/no-navigation-without-resolve': 'off',
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
			]
		}
	},
	{
		// The one place that may call fetch, and the mock server.
		files: ['src/lib/api/http-transport.ts', 'scripts/**', '**/*.test.ts'],
		rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off' }
	},
	{
		files: ['src/lib/theme.svelte.ts'],
		rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off' }
	}
);
