// First run: the setup link otpd printed creates the first admin, who lands in the console
// logged in; logging out and in again through /login works.
import { expect, test } from '@playwright/test';
import { ADMIN, state } from './env';

test('the setup link creates the first admin, who can log out and in again', async ({ page }) => {
	const { setupLink, consoleUrl } = state();

	await page.goto(setupLink);
	await expect(page.getByRole('heading', { name: 'Set up otpd' })).toBeVisible();
	await expect(page.getByText('Setup link recognised.')).toBeVisible();
	// The token is taken out of the address bar.
	await expect(page).toHaveURL(`${consoleUrl}/setup`);

	await page.getByLabel('Your name').fill(ADMIN.name);
	await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
	await page.getByLabel('Confirm password').fill(ADMIN.password);
	await page.getByRole('button', { name: 'Create admin and log in' }).click();

	// In the console, logged in as the new admin.
	await expect(page).toHaveURL(`${consoleUrl}/`);
	const header = page.getByRole('banner');
	await expect(header.getByText(ADMIN.name, { exact: true })).toBeVisible();
	await expect(header.getByText('Admin', { exact: true })).toBeVisible();
	await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();

	// The setup link is used up.
	const setup = await page.request.get(`${consoleUrl}/admin/api/auth/setup`);
	expect(setup.ok()).toBe(true);
	expect(await setup.json()).toMatchObject({ needed: false });

	await page.getByRole('button', { name: 'Log out' }).click();
	await expect(page).toHaveURL(`${consoleUrl}/login`);
	await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

	// A wrong password is refused…
	await page.getByLabel('Name', { exact: true }).fill(ADMIN.name);
	await page.getByLabel('Password', { exact: true }).fill('not the password at all');
	await page.getByRole('button', { name: 'Log in' }).click();
	await expect(page.getByRole('form', { name: 'Log in' }).getByRole('alert')).toBeVisible();
	await expect(page).toHaveURL(`${consoleUrl}/login`);

	// …the right one lets the admin in again.
	await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await expect(page).toHaveURL(`${consoleUrl}/`);
	await expect(header.getByText(ADMIN.name, { exact: true })).toBeVisible();
	await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
});
