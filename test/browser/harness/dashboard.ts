// Signing in to the dashboard as a user would, through its sign-in form.
import type { Page } from "playwright-core";

/**
 * Opens the collector's dashboard signed out (keys kept from before are forgotten) and signs in
 * with the form's read key and, when given, admin key.
 *
 * @param page - the browser page
 * @param url - the collector's origin
 * @param read - the read key (an admin key works too)
 * @param admin - the admin key; empty for none
 */
export async function signInToDashboard(page: Page, url: string, read: string, admin = ""): Promise<void> {
  await page.goto(`${url}/dashboard`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.fill("#read-key", read);
  await page.fill("#admin-key", admin);
  await page.click("form.signin button[type=submit]");
}
