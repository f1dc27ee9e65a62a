import { defineConfig } from '@playwright/test';

/**
 * The console in Debian's Chromium against a real `otpd serve` and a real SMTP server on
 * loopback, both started by console/global-setup.ts. The specs run in file order, one worker:
 * they walk one installation from first-run setup to logout.
 */
export default defineConfig({
	testDir: './console',
	testMatch: /\d\d-.*\.spec\.ts/,
	fullyParallel: false,
	workers: 1,
	retries: 0,
	timeout: 60_000,
	expect: { timeout: 10_000 },
	reporter: [['list']],
	globalSetup: './console/global-setup.ts',
	outputDir: './test-results',
	use: {
		viewport: { width: 1280, height: 860 },
		screenshot: 'only-on-failure',
		trace: 'retain-on-failure',
		launchOptions: {
			executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
			args: [
				'--headless',
				'--no-sandbox',
				'--disable-gpu',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--no-first-run'
			]
		}
	}
});
