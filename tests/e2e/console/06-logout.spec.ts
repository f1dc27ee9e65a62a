// "Log out" ends the session: the console goes back to /login, a page needing a session
// leads there again, and the old session cookie is refused by the server.
import { expect, request, test } from '@playwright/test';
import { ADMIN, login, state } from './env';

test('logout ends the session on the server, not just in the page', async ({ page, context }) => {
	const { consoleUrl } = state();
	await login(page);

	const cookies = await context.cookies(consoleUrl);
	expect(cookies.length).toBeGreaterThan(0);
	const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
	// The same cookie, sent from outside the browser, is a live session…
	const old = await request.newContext({ extraHTTPHeaders: { cookie: cookieHeader } });
	expect((await old.get(`${consoleUrl}/admin/api/auth/session`)).status()).toBe(200);

	await page.getByRole('button', { name: 'Log out' }).click();
	await expect(page).toHaveURL(`${consoleUrl}/login`);
	await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

	// A page that needs a session leads to the login page (and back after logging in).
	await page.goto(`${consoleUrl}/brands`);
	await expect(page).toHaveURL(`${consoleUrl}/login?next=%2Fbrands`);
	await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();

	// …and dead on the server after logging out.
	const after = await old.get(`${consoleUrl}/admin/api/auth/session`);
	expect(after.status()).toBe(401);
	await old.dispose();

	// Logging in again from there goes back to the page asked for.
	await page.getByLabel('Name', { exact: true }).fill(ADMIN.name);
	await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await expect(page).toHaveURL(`${consoleUrl}/brands`);
	await expect(page.getByRole('heading', { name: 'Brands', level: 1 })).toBeVisible();
});
