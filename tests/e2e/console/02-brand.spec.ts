// The admin creates the brand ACME in the GUI, sets its daily limit and resend cooldown, and
// gives it a real e-mail channel (SMTP to this run's SMTP server), checked by a test message
// that must arrive.
import { expect, test } from '@playwright/test';
import { codeIn, login, nav, mails, recipient, state, waitForMails } from './env';

test('the admin creates ACME with a daily limit and an SMTP e-mail channel', async ({ page }) => {
	const { consoleUrl, smtpPort } = state();
	await login(page);

	// Brands → New brand.
	await nav(page, 'Brands');
	await expect(page.getByRole('heading', { name: 'Brands', level: 1 })).toBeVisible();
	await page.getByRole('button', { name: 'New brand' }).first().click();
	const dialog = page.getByRole('dialog', { name: 'New brand' });
	await expect(dialog).toBeVisible();
	await dialog.getByLabel('Name').fill('acme');
	await expect(dialog.getByText('Saved as ACME.')).toBeVisible();
	await dialog.getByRole('button', { name: 'Create brand' }).click();
	await expect(dialog).toBeHidden();

	// Its page: daily limit 3, resend cooldown 0.
	await expect(page).toHaveURL(`${consoleUrl}/brands/ACME`);
	await expect(page.getByRole('heading', { name: 'ACME', level: 1 })).toBeVisible();
	const limits = page.getByRole('form', { name: 'Daily limit' });
	await limits.getByLabel('Daily OTP limit').fill('3');
	await limits.getByLabel('Resend cooldown').fill('0');
	await limits.getByRole('button', { name: 'Save' }).click();
	await expect(limits.getByRole('status')).toHaveText('Saved');

	// Saved on the server: a fresh load shows them.
	await page.reload();
	await expect(limits.getByLabel('Daily OTP limit')).toHaveValue('3');
	await expect(limits.getByLabel('Resend cooldown')).toHaveValue('0');

	// Its channels: the e-mail channel is what e-mail identifiers use, and not set up yet.
	await page.getByRole('main').getByRole('link', { name: 'Channels', exact: true }).click();
	await expect(page).toHaveURL(`${consoleUrl}/channels?brand=ACME`);
	const emailCard = page.getByRole('article', { name: 'E-mail' });
	await expect(emailCard.getByText('E-mail codes')).toBeVisible();
	await expect(emailCard.getByText('Not configured')).toBeVisible();
	await emailCard.getByRole('link', { name: 'Set up E-mail channel' }).click();

	// SMTP to this run's server, no TLS.
	await expect(page).toHaveURL(`${consoleUrl}/channels/ACME/EMAIL`);
	await expect(page.getByRole('heading', { name: 'E-mail channel', level: 1 })).toBeVisible();
	const provider = page.getByRole('form', { name: 'Provider settings' });
	await provider.getByLabel('Provider').selectOption({ label: 'SMTP server' });
	await provider.getByLabel('Host').fill('127.0.0.1');
	await provider.getByLabel('Security').selectOption('none');
	await provider.getByLabel('Port').fill(String(smtpPort));
	await provider.getByLabel('Sender address').fill('otp@acme.test');
	await provider.getByRole('button', { name: 'Set up channel' }).click();
	await expect(provider.getByRole('status')).toHaveText('Saved');
	// Stored as typed.
	const saved = await page.request.get(`${consoleUrl}/admin/api/brands/ACME/channels/EMAIL`);
	expect(saved.status()).toBe(200);
	expect(await saved.json()).toMatchObject({
		brand: 'ACME',
		channel: 'EMAIL',
		config: {
			provider: 'SMTP',
			host: '127.0.0.1',
			port: smtpPort,
			tls: 'none',
			from: 'otp@acme.test'
		}
	});

	// Send a test message: the console says it was accepted, and it arrived.
	const before = mails().length;
	const test = page.getByRole('form', { name: 'Send a test message' });
	await test.getByLabel('E-mail address').fill('qa@acme.test');
	await test.getByRole('button', { name: 'Send test' }).click();
	// (otpd masks the address in its answer.)
	const outcome = page.getByText(/SMTP server accepted the message for q\S*@acme\.test\./);
	await expect(outcome).toBeVisible();
	await expect(outcome.getByText('Sent', { exact: true })).toBeVisible();
	const arrived = (await waitForMails(before + 1)).slice(before);
	expect(arrived).toHaveLength(1);
	const mail = arrived[0] as string;
	expect(recipient(mail)).toBe('qa@acme.test');
	expect(mail).toContain('otp@acme.test');
	expect(codeIn(mail)).toMatch(/^\d{6}$/);

	// Back on the overview: configured, and still ACME's channel for e-mail codes.
	await page.getByRole('link', { name: 'Channels & templates' }).first().click();
	await expect(emailCard.getByText('SMTP server')).toBeVisible();
	await expect(emailCard.getByText('E-mail codes')).toBeVisible();
	await expect(page.getByText('ACME sends e-mail codes over E-mail')).toBeVisible();

	// The brand list shows it with its limit.
	await nav(page, 'Brands');
	const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'ACME' }) });
	await expect(row).toContainText('Enabled');
	await expect(row).toContainText('3');
});
