/**
 * SMS length and segments, the same rules as otpd's `domain::template::sms_info`:
 * GSM 03.38 (basic set 1 septet, extension table 2) → 160 in one SMS, 153 per part;
 * anything else → UCS-2 in UTF-16 code units (an emoji is 2) → 70 in one SMS, 67 per part.
 * A split message never breaks an extension character or a surrogate pair across parts.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsCount {
	encoding: SmsEncoding;
	/** Septets (GSM-7) or UTF-16 code units (UCS-2). */
	units: number;
	/** 0 for an empty text. */
	segments: number;
	/** Capacity of one segment at this length: 160/153 (GSM-7) or 70/67 (UCS-2). */
	perSegment: number;
	/** Units still free in the last segment. */
	remaining: number;
}

/** GSM 03.38 basic character set (one septet each; ESC itself is not a character). */
const GSM_BASIC = new Set(
	'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
		'¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
);
/** GSM 03.38 extension table (escape + one septet each). */
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export const GSM_SINGLE = 160;
export const GSM_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

function gsmWidths(chars: string[]): number[] | null {
	const widths: number[] = [];
	for (const c of chars) {
		if (GSM_BASIC.has(c)) widths.push(1);
		else if (GSM_EXTENSION.has(c)) widths.push(2);
		else return null;
	}
	return widths;
}

/** True when every character of `text` is in GSM 03.38 (basic or extension). */
export function isGsm7(text: string): boolean {
	return gsmWidths([...text]) !== null;
}

export function countSms(text: string): SmsCount {
	const chars = [...text]; // code points, so a surrogate pair stays whole
	const gsm = gsmWidths(chars);
	const encoding: SmsEncoding = gsm ? 'GSM-7' : 'UCS-2';
	const widths = gsm ?? chars.map((c) => c.length);
	const single = gsm ? GSM_SINGLE : UCS2_SINGLE;
	const part = gsm ? GSM_PART : UCS2_PART;
	const units = widths.reduce((a, b) => a + b, 0);

	if (units <= single) {
		return {
			encoding,
			units,
			segments: units === 0 ? 0 : 1,
			perSegment: single,
			remaining: single - units
		};
	}
	let segments = 1;
	let used = 0;
	for (const w of widths) {
		if (used + w > part) {
			segments += 1;
			used = 0;
		}
		used += w;
	}
	return { encoding, units, segments, perSegment: part, remaining: part - used };
}

/** "GSM-7 · 2 segments · 146 left" — the line under an SMS template editor. */
export function describeSms(count: SmsCount): string {
	const seg = `${count.segments} segment${count.segments === 1 ? '' : 's'}`;
	return `${count.encoding} · ${count.units} chars · ${seg} · ${count.remaining} left`;
}
