import { assertApp, type Caller } from "../auth.ts";
import type { Db } from "../db/client.ts";
import { findModel, type ModelRow } from "../db/models.ts";
import { ApiError } from "../errors.ts";

/**
 * The model `name` if `caller` may see it: 404 `not_found` when there is none, 403
 * `forbidden` when it belongs to another app.
 *
 * @param db - drizzle handle
 * @param caller - the authenticated caller
 * @param name - the model name
 */
export async function accessModel(db: Db, caller: Caller, name: string): Promise<ModelRow> {
  const model = await findModel(db, name);
  if (!model) throw new ApiError(404, "not_found", `no model "${name}"`);
  assertApp(caller, model.app, `model "${name}"`);
  return model;
}
