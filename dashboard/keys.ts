// The keys the user typed, kept in localStorage so a reload stays signed in.

const READ = "driftline.readKey";
const ADMIN = "driftline.adminKey";

/** The stored keys; `read` is null when signed out. */
export interface Keys {
  read: string | null;
  admin: string | null;
}

/** The keys stored in this browser. */
export function loadKeys(): Keys {
  return { read: localStorage.getItem(READ), admin: localStorage.getItem(ADMIN) };
}

/**
 * Stores the read key and, when given, the admin key (an empty admin key removes it).
 *
 * @param read - a read (or admin) key
 * @param admin - an admin key, or null to leave the stored one
 */
export function saveKeys(read: string, admin: string | null): void {
  localStorage.setItem(READ, read);
  if (admin !== null) saveAdminKey(admin);
}

/**
 * Stores or (empty) removes the admin key alone.
 *
 * @param admin - the admin key
 */
export function saveAdminKey(admin: string): void {
  if (admin) localStorage.setItem(ADMIN, admin);
  else localStorage.removeItem(ADMIN);
}

/** Sign out: forgets both keys. */
export function clearKeys(): void {
  localStorage.removeItem(READ);
  localStorage.removeItem(ADMIN);
}
