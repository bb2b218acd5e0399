CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model` text NOT NULL,
	`key_id` text NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`before` text,
	`after` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_model` ON `audit_log` (`model`,`id`);--> statement-breakpoint
CREATE TABLE `models` (
	`name` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `models_app` ON `models` (`app`);--> statement-breakpoint
CREATE TABLE `rollouts` (
	`model` text PRIMARY KEY NOT NULL,
	`config_version` integer NOT NULL,
	`stable` integer NOT NULL,
	`canary_version` integer,
	`canary_percent` real,
	`shadow_version` integer,
	`shadow_sample_rate` real,
	`sample_rate` real NOT NULL,
	`salt` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `versions` (
	`model` text NOT NULL,
	`number` integer NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`manifest` text NOT NULL,
	`manifest_key` text NOT NULL,
	`profile_rows` integer NOT NULL,
	`publisher_key` text NOT NULL,
	`publisher` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`model`, `number`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `versions_model_sha256` ON `versions` (`model`,`sha256`);--> statement-breakpoint
CREATE INDEX `versions_sha256` ON `versions` (`sha256`);