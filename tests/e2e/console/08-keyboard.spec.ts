// The main flows from the keyboard alone (only page.keyboard: Tab, Shift+Tab, Enter, Space,
// arrows, Escape, and typing into fields): log in, reach a brand from the sidebar, change its
// daily limit and save, open and close a dialog (focus comes back), open a log record from the
// table with Enter and close it. Every stop on the way shows where the focus is.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { ADMIN, CUSTOMER, state } from './env';

/** Is `target` the focused element? */
const focused = (target: Locator) => target.evaluate((el) => el === document.activeElement);

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, at most `max` times; then checks
 * that the focus is visible on it (the focus ring, or a field's focus border).
 */
async function tabTo(page: Page, target: Locator, { back = false, max = 60 } = {}) {
	for (let i = 0; i < max; i++) {
		if (await focused(target)) break;
		await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
	}
	expect(await focused(target), `${target} is reachable with ${back ? 'Shift+' : ''}Tab`).toBe(
		true
	);
	const ring = await target.evaluate((el) => {
		const s = getComputedStyle(el);
		return (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow !== 'none';
	});
	expect(ring, `${target} shows that it has the focus`).toBe(true);
}

test('the main flows work from the keyboard alone', async ({ page }) => {
	const { consoleUrl } = state();

	// Log in.
	await page.goto(`${consoleUrl}/login`);
	await tabTo(page, page.getByLabel('Name', { exact: true }));
	await page.keyboard.type(ADMIN.name);
	await tabTo(page, page.getByLabel('Password', { exact: true }));
	await page.keyboard.type(ADMIN.password);
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(`${consoleUrl}/`);
	await expect(page.getByRole('heading', { name: 'Dashboard', level: 1 })).toBeVisible();

	// The skip link comes first and moves the focus to the content.
	await page.keyboard.press('Tab');
	const skip = page.getByRole('link', { name: 'Skip to content' });
	await expect(skip).toBeFocused();
	await page.keyboard.press('Enter');
	await expect(page.getByRole('main')).toBeFocused();

	// The sidebar's Brands link, then ACME.
	const sidebar = page.getByRole('navigation', { name: 'Main' });
	await tabTo(page, sidebar.getByRole('link', { name: 'Brands', exact: true }), { back: true });
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(`${consoleUrl}/brands`);
	const acme = page.getByRole('link', { name: 'ACME', exact: true });
	await tabTo(page, acme);
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(`${consoleUrl}/brands/ACME`);

	// The daily limit: one up with the arrow key, save with Enter, and back down.
	const limits = page.getByRole('form', { name: 'Daily limit' });
	const limit = limits.getByLabel('Daily OTP limit');
	await expect(limit).toHaveValue('3');
	await tabTo(page, limit);
	await page.keyboard.press('ArrowUp');
	await expect(limit).toHaveValue('4');
	const save = limits.getByRole('button', { name: 'Save' });
	await tabTo(page, save);
	await page.keyboard.press('Enter');
	await expect(limits.getByRole('status')).toHaveText('Saved');
	const read = async () =>
		(
			(await (await page.request.get(`${consoleUrl}/admin/api/brands/ACME`)).json()) as {
				settings: { dailyOtpLimit: number };
			}
		).settings.dailyOtpLimit;
	expect(await read()).toBe(4);
	await tabTo(page, limit, { back: true });
	await page.keyboard.press('ArrowDown');
	await expect(limit).toHaveValue('3');
	await page.keyboard.press('Enter'); // Enter in a field submits its section
	await expect(limits.getByRole('status')).toHaveText('Saved');
	expect(await read()).toBe(3);

	// A dialog: "Disable brand" asks first; Esc closes it and gives the focus back.
	const disable = page.getByRole('button', { name: 'Disable brand' });
	await tabTo(page, disable, { back: true });
	await page.keyboard.press('Enter');
	const confirm = page.getByRole('dialog', { name: /Disable ACME/ });
	await expect(confirm).toBeVisible();
	await expect(confirm.locator(':focus')).toHaveCount(1);
	// Tab stays inside the dialog.
	for (let i = 0; i < 4; i++) {
		await page.keyboard.press('Tab');
		await expect(confirm.locator(':focus')).toHaveCount(1);
	}
	await page.keyboard.press('Escape');
	await expect(confirm).toBeHidden();
	await expect(disable).toBeFocused();
	expect(
		(
			(await (await page.request.get(`${consoleUrl}/admin/api/brands/ACME`)).json()) as {
				settings: { enabled: boolean };
			}
		).settings.enabled
	).toBe(true);

	// A dialog that opens another: rotating a signing key asks first, then shows the new
	// secret once; the focus follows into the second dialog and comes back to "Rotate key".
	await tabTo(page, sidebar.getByRole('link', { name: 'Payload signing' }), { back: true });
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(`${consoleUrl}/signing?brand=ACME`);
	const rotate = page.getByRole('button', { name: 'Rotate key' });
	await tabTo(page, rotate);
	await page.keyboard.press('Enter');
	const ask = page.getByRole('dialog', { name: 'Rotate the signing key?' });
	await expect(ask).toBeVisible();
	await tabTo(page, ask.getByRole('button', { name: 'Rotate key' }));
	await page.keyboard.press('Enter');
	const secret = page.getByRole('dialog', { name: 'Copy the new signing secret' });
	await expect(secret).toBeVisible();
	await expect(ask).toBeHidden();
	await expect(secret.locator(':focus')).toHaveCount(1);
	await page.keyboard.press('Escape');
	await expect(secret).toBeHidden();
	await expect(rotate).toBeFocused();

	// Turning signing on for DEMO shows its first secret; closing it leaves the focus in the
	// section (its Save button is disabled by then). Then off again, confirmed in a dialog.
	const brandPicker = page.getByRole('main').getByLabel('Brand');
	await tabTo(page, brandPicker, { back: true });
	await page.keyboard.press('ArrowDown');
	await expect(page).toHaveURL(`${consoleUrl}/signing?brand=DEMO`);
	const requirement = page.getByRole('form', { name: 'Signature requirement' });
	await expect(requirement.getByText('Off', { exact: true })).toBeVisible();
	const require = requirement.getByRole('switch', { name: 'Require signed requests' });
	await tabTo(page, require);
	await page.keyboard.press('Space');
	await expect(require).toBeChecked();
	await tabTo(page, requirement.getByRole('button', { name: 'Turn on signing' }));
	await page.keyboard.press('Enter');
	await expect(secret).toBeVisible();
	await expect(secret.getByText(/^Key 1 of DEMO/)).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(secret).toBeHidden();
	await expect(requirement.getByText('On', { exact: true })).toBeVisible();
	await expect(requirement.getByRole('heading', { name: 'Signature requirement' })).toBeFocused();
	await tabTo(page, require);
	await page.keyboard.press('Space');
	await tabTo(page, requirement.getByRole('button', { name: 'Turn off signing' }));
	await page.keyboard.press('Enter');
	const off = page.getByRole('dialog', { name: 'Turn off signing for DEMO?' });
	await expect(off).toBeVisible();
	await tabTo(page, off.getByRole('button', { name: 'Turn off signing' }));
	await page.keyboard.press('Enter');
	await expect(off).toBeHidden();
	await expect(requirement.getByText('Off', { exact: true })).toBeVisible();
	await expect(requirement.locator(':focus')).toHaveCount(1);

	// The issuance log: a row opens with Enter; Esc closes it and the focus returns to the row.
	await tabTo(page, sidebar.getByRole('link', { name: 'Issuance log' }), { back: true });
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(`${consoleUrl}/log`);
	const row = page.getByRole('row').filter({ hasText: CUSTOMER }).first();
	await expect(row).toBeVisible();
	await tabTo(page, row);
	await page.keyboard.press('Enter');
	const drawer = page.getByRole('dialog', { name: 'Log record' });
	await expect(drawer).toBeVisible();
	await expect(page).toHaveURL(/record=/);
	await expect(drawer.getByRole('button', { name: 'Close' })).toBeFocused();
	await expect(drawer.getByText(CUSTOMER).first()).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(drawer).toBeHidden();
	await expect(page).not.toHaveURL(/record=/);
	await expect(row).toBeFocused();

	// Again, closed with its Close button (Enter on it).
	await page.keyboard.press('Enter');
	await expect(drawer).toBeVisible();
	await expect(drawer.getByRole('button', { name: 'Close' })).toBeFocused();
	await page.keyboard.press('Enter');
	await expect(drawer).toBeHidden();
	await expect(row).toBeFocused();
});
