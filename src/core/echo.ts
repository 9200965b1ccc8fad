/**
 * Bounded echoes of client-supplied text in error messages and details. An error that repeats what it was
 * sent must stay small whatever it was sent: 400,000 unknown keys once made a 9 MB answer.
 */

/** Longest client-supplied name repeated in an error. */
export const MAX_ECHOED_NAME = 64;
/** Most names listed in one error; the rest are counted. */
export const MAX_LISTED_NAMES = 10;

/** `"name"`, cut to {@link MAX_ECHOED_NAME} characters. */
export function quoteName(name: string): string {
  return JSON.stringify(clipName(name));
}

/** The name itself, cut to {@link MAX_ECHOED_NAME} characters (for `details`). */
export function clipName(name: string): string {
  return name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name;
}

/** `"a", "b", "c"`, or the first {@link MAX_LISTED_NAMES} then `… and 12 more`. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED_NAMES).map(quoteName).join(', ');
  return names.length > MAX_LISTED_NAMES ? `${shown} … and ${names.length - MAX_LISTED_NAMES} more` : shown;
}

/** The first {@link MAX_LISTED_NAMES} names, each clipped (for `details`; pair it with the full count). */
export function someNames(names: readonly string[]): string[] {
  return names.slice(0, MAX_LISTED_NAMES).map(clipName);
}
