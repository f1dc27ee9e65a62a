// Payload signing of ACME in the GUI: switching it on shows the first secret once; the page's
// JavaScript snippet, run by node, signs a real otp/generate; after a rotation and the old
// key's revocation, old hashes answer 5004 and new ones 200; "Check a hash" says REVOKED.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import {
	appCode,
	login,
	nav,
	openSession,
	publicApi,
	signWithNode,
	state,
	type Customer
} from './env';

const PATH = '/auth/v1/otp/generate';
const erin: Customer = {
	brand: 'ACME',
	identifierType: 'EMAIL',
	identifierValue: 'erin@acme.test',
	deviceId: 'e2e-phone-3'
};

/** The secret of the "shown once" dialog; closes it. Answers [key id, secret]. */
async function takeSecret(page: Page): Promise<[string, string]> {
	const dialog = page.getByRole('dialog', { name: 'Copy the new signing secret' });
	await expect(dialog).toBeVisible();
	await expect(dialog.getByText('Shown once')).toBeVisible();
	const label = await dialog.getByText(/^Key \d+ of ACME \(base64\)$/).innerText();
	const secret = (await dialog.locator('code').innerText()).trim();
	expect(secret).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
	await dialog.getByRole('button', { name: 'I have copied it' }).click();
	await expect(dialog).toBeHidden();
	return [/Key (\d+)/.exec(label)?.[1] as string, secret];
}

test('signing: turn on, sign with the snippet, rotate, revoke, check a hash', async ({ page }) => {
	const { consoleUrl } = state();
	await login(page);
	await nav(page, 'Payload signing');
	await page.getByRole('main').getByLabel('Brand').selectOption('ACME');
	await expect(page).toHaveURL(`${consoleUrl}/signing?brand=ACME`);

	// Turn it on for OTP_GENERATE only.
	const requirement = page.getByRole('form', { name: 'Signature requirement' });
	await expect(requirement.getByText('Off', { exact: true })).toBeVisible();
	await requirement.getByLabel('Require signed requests').check();
	const endpoints = requirement.getByRole('group', { name: 'Endpoints that require a signature' });
	await endpoints.getByRole('checkbox', { name: 'Send a code (otp/generate)' }).check();
	await expect(
		endpoints.getByRole('checkbox', { name: 'Open a session (token/generate)' })
	).not.toBeChecked();
	await expect(
		endpoints.getByRole('checkbox', { name: 'Check a code (otp/validate)' })
	).not.toBeChecked();
	await requirement.getByRole('button', { name: 'Turn on signing' }).click();
	const [firstId, firstSecret] = await takeSecret(page);
	await expect(requirement.getByText('On', { exact: true })).toBeVisible();
	const keys = page.getByRole('table', { name: 'Signing keys of ACME' });
	await expect(keys.getByRole('row', { name: new RegExp(`Key ${firstId}.*Active`) })).toBeVisible();

	// The page's JavaScript snippet, exactly as shown (it is the module the console ships).
	await page.getByRole('tab', { name: 'JavaScript' }).click();
	const snippet =
		(await page.getByRole('region', { name: 'JavaScript snippet' }).textContent()) ?? '';
	const shipped = readFileSync(
		resolve(import.meta.dirname, '../../../ui/src/lib/signing/snippets/sign-v1.js'),
		'utf8'
	);
	expect(snippet).toBe(shipped);

	/** otp/generate for erin in a new session, signed with `secret` (none: unsigned). */
	async function generate(secret: string | null) {
		const body: Record<string, unknown> = { ...erin, sessionId: await openSession(erin) };
		if (secret) {
			const timeStamp = Date.now();
			body.timeStamp = timeStamp;
			body.hash = signWithNode(snippet, secret, PATH, body, timeStamp);
		}
		const r = await publicApi(PATH, body);
		return { code: appCode(r.body), body };
	}

	expect((await generate(null)).code).toBe(5004);
	expect((await generate(firstSecret)).code).toBe(200);

	// Rotate: a second key, shown once; the first one retires.
	await page.getByRole('button', { name: 'Rotate key' }).click();
	const rotate = page.getByRole('dialog', { name: 'Rotate the signing key?' });
	await rotate.getByRole('button', { name: 'Rotate key' }).click();
	const [secondId, secondSecret] = await takeSecret(page);
	expect(secondId).not.toBe(firstId);
	expect(secondSecret).not.toBe(firstSecret);
	await expect(
		keys.getByRole('row', { name: new RegExp(`Key ${secondId}.*Active`) })
	).toBeVisible();
	await expect(
		keys.getByRole('row', { name: new RegExp(`Key ${firstId}.*Retiring`) })
	).toBeVisible();

	// Revoke the first key.
	await keys.getByRole('button', { name: `Revoke key ${firstId}` }).click();
	const revoke = page.getByRole('dialog', { name: `Revoke key ${firstId}?` });
	await revoke.getByRole('button', { name: 'Revoke key' }).click();
	await expect(revoke).toBeHidden();
	await expect(
		keys.getByRole('row', { name: new RegExp(`Key ${firstId}.*Revoked`) })
	).toBeVisible();

	// The old key's hashes are refused, the new key's accepted.
	const old = await generate(firstSecret);
	expect(old.code).toBe(5004);
	expect((await generate(secondSecret)).code).toBe(200);

	// "Check a hash" on a request signed with the revoked key.
	const checker = page.getByRole('form', { name: 'Check a hash' });
	await checker.getByLabel('Path').selectOption(PATH);
	const timeStamp = Date.now();
	const request = { ...old.body, timeStamp };
	request.hash = signWithNode(snippet, firstSecret, PATH, request, timeStamp);
	await checker.getByLabel('Request body (JSON)').fill(JSON.stringify(request, null, 2));
	await checker.getByRole('button', { name: 'Check hash' }).click();
	await expect(page.getByText('REVOKED', { exact: true })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Signed with a revoked key' })).toBeVisible();
	await expect(page.getByText(`Key ${firstId}`, { exact: true }).last()).toBeVisible();
});
