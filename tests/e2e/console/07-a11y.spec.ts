// Every page of the console passes axe-core with no serious or critical violation, in the
// light and the dark theme, with the data the earlier specs made; each is saved as a
// screenshot (light and dark), which OTPD_SCREENSHOTS=docs/screenshots makes the README's.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { CUSTOMER, kpi, login, screenshots, state } from './env';

/** axe's serious and critical violations, as readable lines. */
async function seriousViolations(page: Page): Promise<string[]> {
	const t0 = Date.now();
	const { violations } = await new AxeBuilder({ page })
		// The HTML e-mail preview is a sandboxed iframe (no scripts): axe cannot run inside it,
		// and Playwright waits forever for it to. Its content is the brand's e-mail, not the
		// console; the frame itself is checked below (it has a title).
		.exclude('iframe[sandbox]')
		.options({ resultTypes: ['violations'] })
		.analyze();
	if (process.env.E2E_DEBUG) {
		console.log('axe', page.url(), Date.now() - t0, 'ms');
		for (const v of violations)
			console.log('  ', v.impact, v.id, v.nodes.map((n) => n.target.join(' ')).join(' | '));
	}
	return violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.flatMap((v) =>
			v.nodes.map(
				(n) =>
					`${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.replace(/\s+/g, ' ')}`
			)
		);
}

/** Checks the page as it is now in both themes, then saves its screenshots. */
async function check(page: Page, name: string) {
	for (const colorScheme of ['light', 'dark'] as const) {
		await page.emulateMedia({ colorScheme });
		expect(await seriousViolations(page), `${name} (${colorScheme})`).toEqual([]);
	}
	await page.emulateMedia({ colorScheme: 'light' });
	await screenshots(page, name);
}

interface Visit {
	name: string;
	path: string;
	/** Waits until the page shows its data. */
	ready: (page: Page) => Promise<unknown>;
}

const main = (page: Page) => page.getByRole('main');

const PAGES: Visit[] = [
	{
		name: 'dashboard',
		path: '/',
		ready: async (page) => {
			await expect.poll(() => kpi(page, 'Codes issued, 24 h')).toBeGreaterThanOrEqual(6);
			await expect(page.getByText('Loading')).toHaveCount(0);
		}
	},
	{
		name: 'brands',
		path: '/brands',
		ready: (page) => expect(page.getByRole('link', { name: 'ACME' })).toBeVisible()
	},
	{
		name: 'brand',
		path: '/brands/ACME',
		ready: (page) =>
			expect(
				page.getByRole('form', { name: 'Daily limit' }).getByLabel('Daily OTP limit')
			).toHaveValue('3')
	},
	{
		name: 'channels',
		path: '/channels?brand=ACME',
		ready: (page) =>
			expect(page.getByRole('article', { name: 'E-mail' }).getByText('SMTP server')).toBeVisible()
	},
	{
		name: 'channel-email',
		path: '/channels/ACME/EMAIL',
		ready: async (page) => {
			await expect(
				page.getByRole('form', { name: 'Provider settings' }).getByLabel('Host')
			).toHaveValue('127.0.0.1');
			await expect(page.getByRole('heading', { name: 'Templates' })).toBeVisible();
			await expect(page.getByTitle('HTML e-mail preview')).toBeVisible();
		}
	},
	{
		name: 'signing',
		path: '/signing?brand=ACME',
		ready: (page) =>
			expect(
				page.getByRole('table', { name: 'Signing keys of ACME' }).getByRole('row')
			).toHaveCount(3)
	},
	{
		name: 'limits',
		path: '/limits?brand=ACME',
		ready: async (page) => {
			// Looking a customer up changes nothing and shows their count.
			const lookup = page.getByRole('form', { name: 'Look up a customer' });
			await lookup.getByLabel('Customer').fill(CUSTOMER);
			await lookup.getByRole('button', { name: 'Look up' }).click();
			await expect(main(page).getByText('Limit reached')).toBeVisible();
		}
	},
	{
		name: 'log',
		path: '/log',
		ready: (page) => expect(page.getByRole('row').filter({ hasText: CUSTOMER })).toHaveCount(4)
	},
	{
		name: 'audit',
		path: '/audit',
		ready: (page) => expect(main(page).getByText('Revoked a signing key').first()).toBeVisible()
	},
	{
		name: 'operators',
		path: '/operators',
		ready: (page) => expect(page.getByRole('row').filter({ hasText: 'victor' })).toBeVisible()
	},
	{
		name: 'settings',
		path: '/settings',
		ready: (page) => expect(main(page).getByText(state().dataDir).first()).toBeVisible()
	},
	{
		name: 'account',
		path: '/account',
		ready: (page) => expect(page.getByRole('form', { name: 'Change password' })).toBeVisible()
	}
];

test.describe('accessibility (axe-core) and screenshots', () => {
	// One logged-in page for the whole walk (after a failure, the next test logs in again).
	let page: Page;
	test.beforeAll(async ({ browser }) => {
		page = await (await browser.newContext()).newPage();
		await login(page);
	});
	test.afterAll(async () => {
		await page.context().close();
	});

	for (const visit of PAGES) {
		test(visit.name, async () => {
			await page.goto(state().consoleUrl + visit.path);
			await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
			await visit.ready(page);
			await check(page, visit.name);
		});
	}

	test('dialogs and field errors', async () => {
		const { consoleUrl } = state();
		const both = async (what: string) => {
			for (const colorScheme of ['light', 'dark'] as const) {
				await page.emulateMedia({ colorScheme });
				expect(await seriousViolations(page), `${what} (${colorScheme})`).toEqual([]);
			}
			await page.emulateMedia({ colorScheme: 'light' });
		};

		await page.goto(`${consoleUrl}/brands`);
		await page.getByRole('button', { name: 'New brand' }).first().click();
		const create = page.getByRole('dialog', { name: 'New brand' });
		await create.getByText('Starting settings (optional)').click();
		await create.getByLabel('Name').fill('not a name!');
		await create.getByRole('button', { name: 'Create brand' }).click();
		await expect(create.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
		await both('the New brand dialog with an error');
		await page.keyboard.press('Escape');
		await expect(create).toBeHidden();

		await page.goto(`${consoleUrl}/operators`);
		await page.getByRole('button', { name: 'Add operator' }).click();
		await expect(page.getByRole('dialog', { name: 'Add an operator' })).toBeVisible();
		await both('the Add operator dialog');
		await page.keyboard.press('Escape');

		await page.goto(`${consoleUrl}/brands/ACME`);
		const limits = page.getByRole('form', { name: 'Daily limit' });
		await limits.getByLabel('Daily OTP limit').fill('0');
		await limits.getByRole('button', { name: 'Save' }).click();
		await expect(limits.getByLabel('Daily OTP limit')).toHaveAttribute('aria-invalid', 'true');
		await both('a settings section with a refused value');
	});

	test('log-record', async () => {
		const { consoleUrl } = state();
		// In the log's side panel, then as a page of its own.
		await page.goto(`${consoleUrl}/log?destination=${encodeURIComponent(CUSTOMER)}`);
		await page.getByRole('row').filter({ hasText: '200' }).last().click();
		const drawer = page.getByRole('dialog', { name: 'Log record' });
		await expect(drawer.getByText('via E-mail')).toBeVisible();
		for (const colorScheme of ['light', 'dark'] as const) {
			await page.emulateMedia({ colorScheme });
			expect(await seriousViolations(page), `log drawer (${colorScheme})`).toEqual([]);
		}
		await page.emulateMedia({ colorScheme: 'light' });
		await drawer.getByRole('link', { name: 'Open as a page' }).click();
		await expect(page).toHaveURL(/\/log\/[0-9a-f-]+$/);
		await expect(page.getByRole('heading', { name: 'Delivery attempts (1)' })).toBeVisible();
		await check(page, 'log-record');
	});
});

test('accessibility (axe-core) and screenshots › login', async ({ page }) => {
	await page.goto(`${state().consoleUrl}/login`);
	await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
	await check(page, 'login');
});
