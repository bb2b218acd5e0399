import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** An application: the unit that owns models and keys. */
export const apps = sqliteTable("apps", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

/** API keys, stored as SHA-256 hashes of the bearer token; the token itself is shown once. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    app: text("app").notNull(),
    role: text("role", { enum: ["ingest", "read", "admin"] }).notNull(),
    hash: text("hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    label: text("label"),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_app").on(t.app)],
);
