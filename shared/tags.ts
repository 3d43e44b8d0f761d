/**
 * What a release/image tag may look like: Docker's own tag grammar. Anything else (spaces, `;`,
 * `$(...)`, quotes) is rejected at the input, long before a tag reaches a command line or a file.
 */
export const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const IMAGE_TAG_DESCRIPTION = 'an image tag (letters, digits, "_", "." and "-", at most 128, e.g. v1.2.0)';

/** Compose service names (compose-spec: [a-zA-Z0-9._-]+). */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const SERVICE_NAME_DESCRIPTION = 'compose service names (letters, digits, ".", "_" and "-")';
