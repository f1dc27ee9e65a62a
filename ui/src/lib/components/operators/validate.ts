/** Client-side checks of the "add operator" form, with the server's rules (it checks too). */
import { MIN_PASSWORD_LENGTH } from '$lib/services/auth';

/** otpd's rule for operator names: 1–64 of a-z 0-9 . _ - @. */
export const OPERATOR_NAME = /^[a-z0-9._@-]{1,64}$/;

export interface NewOperatorFields {
	name: string;
	password: string;
	confirm: string;
}

/** Errors keyed by the server's field names (`name`, `password`) plus `confirm`. */
export function checkNewOperator(
	f: NewOperatorFields,
	existing: readonly string[] = []
): Record<string, string> {
	const errors: Record<string, string> = {};
	const name = f.name.trim();
	if (name === '') errors.name = 'Enter a name.';
	else if (!OPERATOR_NAME.test(name))
		errors.name = 'Use 1 to 64 of a–z, 0–9 and . _ - @ (lower case, no spaces).';
	else if (existing.includes(name)) errors.name = `An operator named ${name} already exists.`;
	if (f.password.length < MIN_PASSWORD_LENGTH)
		errors.password = `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
	if (f.confirm !== f.password) errors.confirm = 'The passwords do not match.';
	return errors;
}
