// Codes issued through the public API show up in the console: three codes for one e-mail
// customer of ACME and a fourth refused by the daily limit (1534), on the log page (filtered
// by the customer, with the delivery attempts of a record), on the dashboard and in the CSV
// export; a delivered code validates. A little DEMO traffic gives the dashboard more to show.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import {
	CUSTOMER,
	appCode,
	codeIn,
	kpi,
	login,
	mails,
	nav,
	openSession,
	publicApi,
	recipient,
	state,
	waitForMails,
	type Customer
} from './env';

const dana: Customer = {
	brand: 'ACME',
	identifierType: 'EMAIL',
	identifierValue: CUSTOMER,
	deviceId: 'e2e-phone-1'
};

test('issued codes appear in the log, the dashboard and the CSV export', async ({ page }) => {
	const { consoleUrl } = state();

	// Three codes, one session each; each mail is awaited before the next code, so the first
	// mail is the first session's code.
	const sessions: string[] = [];
	const codes: string[] = [];
	for (let i = 0; i < 3; i++) {
		const sessionId = await openSession(dana);
		const before = mails().length;
		const r = await publicApi('/auth/v1/otp/generate', { ...dana, sessionId });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(appCode(r.body)).toBe(200);
		const mail = (await waitForMails(before + 1))[before] as string;
		expect(recipient(mail)).toBe(CUSTOMER);
		const code = codeIn(mail);
		expect(code).toMatch(/^\d{6}$/);
		sessions.push(sessionId);
		codes.push(code as string);
	}
	// The fourth passes the daily limit of 3.
	const fourth = await publicApi('/auth/v1/otp/generate', {
		...dana,
		sessionId: await openSession(dana)
	});
	expect(appCode(fourth.body), JSON.stringify(fourth.body)).toBe(1534);

	// Some DEMO traffic (the LOG channel): phone customers, one code each (its cooldown is on).
	for (const n of ['+84901234501', '+84901234502', '+84901234503']) {
		const who: Customer = {
			brand: 'DEMO',
			identifierType: 'MOBILE',
			identifierValue: n,
			deviceId: 'e2e-phone-2'
		};
		const r = await publicApi('/auth/v1/otp/generate', {
			...who,
			sessionId: await openSession(who)
		});
		expect(appCode(r.body), JSON.stringify(r.body)).toBe(200);
	}

	await login(page);

	// The log, filtered by the customer: four records, newest first, the 1534 on top.
	await nav(page, 'Issuance log');
	await expect(page.getByRole('heading', { name: 'Issuance log', level: 1 })).toBeVisible();
	const filters = page.getByRole('form', { name: 'Filter the log' });
	await filters.getByLabel('Customer').fill(CUSTOMER);
	await filters.getByLabel('Customer').press('Enter');
	await expect(page).toHaveURL(/destination=dana%40acme\.test/);
	const table = page.getByRole('table', { name: /Issuance log/ });
	const rows = table.getByRole('row').filter({ hasText: CUSTOMER });
	await expect(rows).toHaveCount(4);
	await expect(table.getByRole('row').filter({ hasText: '+849012345' })).toHaveCount(0);
	await expect(rows.nth(0)).toContainText('1534');
	await expect(rows.nth(0)).toContainText('Daily limit');
	for (const i of [1, 2, 3]) {
		await expect(rows.nth(i)).toContainText('200');
		await expect(rows.nth(i)).toContainText('Sent');
	}

	// The oldest record: its delivery attempt went out over e-mail.
	await rows.nth(3).click();
	const drawer = page.getByRole('dialog', { name: 'Log record' });
	await expect(drawer).toBeVisible();
	await expect(page).toHaveURL(/record=/);
	await expect(drawer.getByText(CUSTOMER).first()).toBeVisible();
	await expect(drawer.getByText(sessions[0] as string)).toBeVisible();
	await expect(drawer.getByRole('heading', { name: 'Delivery attempts (1)' })).toBeVisible();
	const attempt = drawer.getByRole('listitem').filter({ hasText: 'via E-mail' });
	await expect(attempt).toHaveCount(1);
	await expect(attempt).toContainText('Sent');
	await drawer.getByRole('button', { name: 'Close' }).click();
	await expect(drawer).toBeHidden();
	await expect(page).not.toHaveURL(/record=/);

	// The 1534 record: refused by the limit, nothing to deliver.
	await rows.nth(0).click();
	await expect(drawer.getByText('1534 · ')).toBeVisible();
	await expect(drawer.getByRole('heading', { name: 'Delivery attempts (0)' })).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(drawer).toBeHidden();

	// CSV export of this filter: the header and one row per record.
	const download = page.waitForEvent('download');
	await page.getByRole('button', { name: 'Export CSV' }).click();
	const file = await (await download).path();
	const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
	const header = (lines[0] as string).split(',');
	expect(header).toEqual(
		expect.arrayContaining(['id', 'time', 'brand', 'identifier', 'outcome', 'channel', 'delivery'])
	);
	const rowsCsv = lines.slice(1).map((l) => {
		const cells = l.split(',');
		return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
	});
	expect(rowsCsv).toHaveLength(4);
	for (const r of rowsCsv) {
		expect(r.brand).toBe('ACME');
		expect(r.identifier).toBe(CUSTOMER);
	}
	expect(rowsCsv.map((r) => r.outcome).sort()).toEqual(['1534', '200', '200', '200']);
	expect(rowsCsv.filter((r) => r.outcome === '200').map((r) => r.channel)).toEqual([
		'EMAIL',
		'EMAIL',
		'EMAIL'
	]);
	await expect(page.getByText('The log export was downloaded.')).toBeVisible();

	// The first code, read from the mailbox, validates in its session.
	const valid = await publicApi('/auth/v1/otp/validate', {
		...dana,
		sessionId: sessions[0],
		otp: codes[0]
	});
	expect(appCode(valid.body), JSON.stringify(valid.body)).toBe(200);

	// The dashboard counts it all.
	await nav(page, 'Dashboard');
	await expect(page.getByRole('heading', { name: 'Dashboard', level: 1 })).toBeVisible();
	await expect.poll(() => kpi(page, 'Codes issued, 24 h')).toBeGreaterThanOrEqual(6);
	await expect.poll(() => kpi(page, 'Limit hits, 24 h')).toBe(1);
	await expect(
		page.getByRole('list', { name: 'Limit hits by limit' }).getByRole('listitem').first()
	).toHaveText(/1\s+daily limit/);
});
