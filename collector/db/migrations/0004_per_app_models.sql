CREATE TABLE `artifact_uploads` (
	`sha256` text NOT NULL,
	`app` text NOT NULL,
	`key_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`sha256`, `app`)
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_models` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
-- hand-edited: models created before per-app names keep their bare name as id, so no other table changes
INSERT INTO `__new_models`("id", "app", "name", "created_at") SELECT "name", "app", "name", "created_at" FROM `models`;--> statement-breakpoint
DROP TABLE `models`;--> statement-breakpoint
ALTER TABLE `__new_models` RENAME TO `models`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `models_app_name` ON `models` (`app`,`name`);