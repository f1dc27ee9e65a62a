import type { components } from './schema';

/**
 * A DTO type from the generated OpenAPI schema: `Schema<'SessionView'>`.
 * Regenerate `schema.d.ts` with `npm run gen:api` when otpd's openapi.json changes.
 */
export type Schema<K extends keyof components['schemas']> = components['schemas'][K];
