// The read-only pages on a phone (390 px) and at the narrowest desktop width the console
// supports (1024 px): nothing makes the page scroll sideways (a wide table scrolls inside its
// own frame), and on the phone the navigation opens from the menu button, works, and closes.
// The phone's dashboard and log are saved as screenshots.
import { expect, test, type Page } from '@playwright/test';
import { login, screenshots, state } from './env';

const READ_ONLY = ['/', '/log', '/audit', '/brands', '/limits', '/channels', '/signing'];

/** How far the page itself scrolls sideways, in CSS pixels (0 when it fits). */
const overflow = (page: Page) =>
	page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

for (const width of [390, 1024]) {
	test(`the read-only pages fit ${width} px`, async ({ page }) => {
		await login(page);
		await page.setViewportSize({ width, height: 844 });
		for (const path of READ_ONLY) {
			await page.goto(state().consoleUrl + path);
			await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
			await expect(page.getByText('Loading')).toHaveCount(0);
			expect(await overflow(page), `${path} scrolls sideways at ${width} px`).toBe(0);
		}
	});
}

test('on a phone, the navigation is a drawer behind the menu button', async ({ page }) => {
	await login(page);
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(state().consoleUrl + '/');
	const nav = page.getByRole('navigation', { name: 'Main' });
	await expect(nav).toBeHidden();
	await expect(page.getByRole('heading', { name: 'Dashboard', level: 1 })).toBeVisible();
	await screenshots(page, 'phone-dashboard');

	const menu = page.getByRole('button', { name: 'Open navigation' });
	await expect(menu).toHaveAttribute('aria-expanded', 'false');
	await menu.click();
	await expect(nav).toBeVisible();
	await expect(menu).toHaveAttribute('aria-expanded', 'true');
	await nav.getByRole('link', { name: 'Issuance log' }).click();
	await expect(page).toHaveURL(`${state().consoleUrl}/log`);
	await expect(nav).toBeHidden();
	await expect(page.getByRole('heading', { name: 'Issuance log', level: 1 })).toBeVisible();
	await expect(page.getByText('Loading')).toHaveCount(0);
	await screenshots(page, 'phone-log');

	// Esc closes the drawer and gives the focus back to the menu button.
	await menu.click();
	await expect(nav).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(nav).toBeHidden();
	await expect(menu).toBeFocused();
});
