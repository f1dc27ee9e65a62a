// A viewer sees everything and can change nothing: the admin adds one on the Operators page;
// logged in (a separate browser context), every page opens with data and offers no enabled
// control that changes something; a change sent anyway is refused (403).
import { expect, test, type Page } from '@playwright/test';
import { ADMIN, CUSTOMER, VIEWER, kpi, login, nav, state } from './env';

/**
 * The enabled controls in <main> that could change something: every visible, enabled button,
 * field, checkbox or switch whose name is not one of the read-only tools the console offers
 * viewers (filters, pickers, paging, copy, refresh, export, the hash checker…).
 */
async function changeControls(page: Page, readOnly: RegExp): Promise<string[]> {
	const controls = await page
		.getByRole('main')
		// Tabs only switch what is shown.
		.locator(
			'button:not([role="tab"]), input, select, textarea, [role="switch"], [role="checkbox"], [contenteditable="true"]'
		)
		.evaluateAll((els) =>
			els
				.filter((el) => {
					const box = el.getBoundingClientRect();
					const visible =
						box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
					const disabled =
						(el as HTMLInputElement).disabled ||
						el.closest('fieldset:disabled') !== null ||
						el.getAttribute('aria-disabled') === 'true' ||
						(el as HTMLInputElement).readOnly;
					return visible && !disabled && (el as HTMLInputElement).type !== 'hidden';
				})
				.map((el) => {
					const labelled = (el as HTMLInputElement).labels?.[0]?.textContent;
					const name = el.getAttribute('aria-label') ?? labelled ?? el.textContent ?? '';
					return `${el.tagName.toLowerCase()} "${name.replace(/\s+/g, ' ').trim()}"`;
				})
		);
	return controls.filter((c) => !readOnly.test(/"(.*)"$/.exec(c)?.[1] ?? ''));
}

/** Tools that only read, whatever the page. */
const ALWAYS = /^(Refresh|Retry|Copy\b.*|Show password|Hide password|Close)$/;

test('a viewer sees every page, changes nothing, and is refused by the server', async ({
	page,
	browser
}) => {
	// Thirteen pages, each scanned for controls: 20-50 s here, more on a loaded CI machine.
	test.setTimeout(150_000);
	const { consoleUrl, dataDir } = state();

	// The admin adds the viewer.
	await login(page, ADMIN);
	await nav(page, 'Operators');
	await page.getByRole('button', { name: 'Add operator' }).click();
	const add = page.getByRole('dialog', { name: 'Add an operator' });
	await add.getByLabel('Name').fill(VIEWER.name);
	await add.getByLabel('Role').selectOption('viewer');
	await add.getByLabel('Password', { exact: true }).fill(VIEWER.password);
	await add.getByLabel('Confirm password').fill(VIEWER.password);
	await add.getByRole('button', { name: 'Add operator' }).click();
	await expect(add).toBeHidden();
	await expect(page.getByText(`${VIEWER.name} can now log in.`)).toBeVisible();
	const row = page.getByRole('row').filter({ hasText: VIEWER.name });
	await expect(row).toContainText('Viewer');
	await expect(row).toContainText('Enabled');

	// The viewer, in a browser of their own.
	const context = await browser.newContext();
	const viewer = await context.newPage();
	await login(viewer, VIEWER);
	const header = viewer.getByRole('banner');
	await expect(header.getByText(VIEWER.name, { exact: true })).toBeVisible();
	await expect(header.getByText('Viewer', { exact: true })).toBeVisible();
	const sidebar = viewer.getByRole('navigation', { name: 'Main' });
	await expect(sidebar.getByRole('link', { name: 'Operators' })).toHaveCount(0);

	/** Opens `path`, waits for `data` (what shows it loaded), and finds no change control. */
	async function visit(
		path: string,
		title: string,
		data: (p: Page) => Promise<void>,
		readOnly = ALWAYS
	) {
		await viewer.goto(consoleUrl + path);
		await expect(viewer.getByRole('heading', { name: title, level: 1 })).toBeVisible();
		await data(viewer);
		const all = new RegExp(`${ALWAYS.source}|${readOnly.source}`);
		expect(await changeControls(viewer, all), `change controls on ${path}`).toEqual([]);
	}

	await visit(
		'/',
		'Dashboard',
		async (p) => {
			await expect.poll(() => kpi(p, 'Codes issued, 24 h')).toBeGreaterThanOrEqual(6);
		},
		/^(Brand|Channel|24 h|30 days|Show as table|Show as chart)$/
	);

	await visit('/brands', 'Brands', async (p) => {
		await expect(p.getByRole('link', { name: 'ACME' })).toBeVisible();
		await expect(p.getByRole('link', { name: 'DEMO' })).toBeVisible();
		await expect(p.getByRole('button', { name: 'New brand' })).toHaveCount(0);
	});

	await visit('/brands/ACME', 'ACME', async (p) => {
		const limits = p.getByRole('form', { name: 'Daily limit' });
		await expect(limits.getByLabel('Daily OTP limit')).toHaveValue('3');
		await expect(limits.getByLabel('Daily OTP limit')).toBeDisabled();
		await expect(limits.getByText('Only admins can change these settings.')).toBeVisible();
		await expect(p.getByRole('button', { name: 'Save' })).toHaveCount(0);
	});

	await visit(
		'/channels?brand=ACME',
		'Channels & templates',
		async (p) => {
			const email = p.getByRole('article', { name: 'E-mail' });
			await expect(email.getByText('SMTP server')).toBeVisible();
			await expect(email.getByRole('link', { name: 'View E-mail channel' })).toBeVisible();
		},
		/^Brand$/
	);

	await visit('/channels/ACME/EMAIL', 'E-mail channel', async (p) => {
		const provider = p.getByRole('form', { name: 'Provider settings' });
		await expect(provider.getByLabel('Host')).toHaveValue('127.0.0.1');
		await expect(provider.getByLabel('Host')).toBeDisabled();
		await expect(provider.getByText('Only admins can change channels.')).toBeVisible();
		await expect(p.getByText('Only admins can send test messages.')).toBeVisible();
	});

	await visit(
		'/signing?brand=ACME',
		'Payload signing',
		async (p) => {
			await expect(
				p.getByRole('table', { name: 'Signing keys of ACME' }).getByRole('row')
			).toHaveCount(3);
			await expect(p.getByText('Only admins can change signing.')).toBeVisible();
			await expect(p.getByLabel('Require signed requests')).toBeDisabled();
			await expect(p.getByRole('button', { name: /Rotate key|Revoke/ })).toHaveCount(0);
		},
		/^(Brand|Path|Request body \(JSON\)|Set timeStamp to now|Check hash)$/
	);

	await visit(
		'/limits?brand=ACME',
		'Limits',
		async (p) => {
			await expect(p.getByLabel('Daily OTP limit').first()).toHaveValue('3');
		},
		/^(Brand|Customer|Look up)$/
	);

	await visit(
		'/log',
		'Issuance log',
		async (p) => {
			await expect(p.getByRole('row').filter({ hasText: CUSTOMER }).first()).toBeVisible();
		},
		/^(Customer|Search|Time|Brand|Outcome|Channel|Delivery|Test codes|Export CSV|Rows per page|Newer|Older)$/
	);

	const newest = await viewer.request.get(`${consoleUrl}/admin/api/log?limit=1`);
	const record = ((await newest.json()) as { records: { id: string }[] }).records[0];
	expect(record).toBeTruthy();
	await visit(`/log/${record?.id}`, 'Log record', async (p) => {
		await expect(p.getByRole('heading', { name: /Delivery attempts/ })).toBeVisible();
	});

	await visit(
		'/audit',
		'Audit',
		async (p) => {
			await expect(p.getByText(ADMIN.name).first()).toBeVisible();
		},
		/^(Search|Operator|Brand|Action|Time|Newer|Older|Show all \d+ values|Show fewer)$/
	);

	await visit('/settings', 'Settings', async (p) => {
		await expect(p.getByText(dataDir, { exact: true }).first()).toBeVisible();
	});

	// Their own password is the one thing a viewer changes.
	await visit(
		'/account',
		'Account',
		async (p) => {
			await expect(p.getByText(`Signed in as ${VIEWER.name} (viewer).`)).toBeVisible();
		},
		/^(Current password|New password|Confirm new password|Change password)$/
	);

	await visit('/operators', 'Operators', async (p) => {
		await expect(p.getByText('Only admins manage operators', { exact: true })).toBeVisible();
		await expect(p.getByRole('table')).toHaveCount(0);
	});

	// A change sent anyway, with the viewer's own cookie and CSRF token: refused.
	const who = await viewer.request.get(`${consoleUrl}/admin/api/auth/session`);
	expect(who.status()).toBe(200);
	const { csrfToken, operator } = (await who.json()) as {
		csrfToken: string;
		operator: { name: string; role: string };
	};
	expect(operator).toMatchObject({ name: VIEWER.name, role: 'viewer' });
	const patch = await viewer.request.patch(`${consoleUrl}/admin/api/brands/ACME`, {
		headers: { 'x-csrf-token': csrfToken },
		data: { dailyOtpLimit: 50 }
	});
	expect(patch.status()).toBe(403);
	const addOp = await viewer.request.post(`${consoleUrl}/admin/api/operators`, {
		headers: { 'x-csrf-token': csrfToken },
		data: { name: 'mallory', role: 'admin', password: 'mallory horse battery staple' }
	});
	expect(addOp.status()).toBe(403);
	// Nothing changed.
	const acme = await viewer.request.get(`${consoleUrl}/admin/api/brands/ACME`);
	expect(
		((await acme.json()) as { settings: { dailyOtpLimit: number } }).settings.dailyOtpLimit
	).toBe(3);

	await context.close();
});
