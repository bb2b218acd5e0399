CREATE TABLE `aggregate_flushes` (
	`object` text PRIMARY KEY NOT NULL,
	`model` text NOT NULL,
	`seq` integer NOT NULL,
	`flushes` integer NOT NULL,
	`reports` integer NOT NULL,
	`rows_written` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `aggregates` (
	`model` text NOT NULL,
	`granularity` text NOT NULL,
	`window_start` integer NOT NULL,
	`version` integer NOT NULL,
	`role` text NOT NULL,
	`segment` text NOT NULL,
	`shard` integer NOT NULL,
	`reports` integer NOT NULL,
	`rows` integer NOT NULL,
	`errors` integer NOT NULL,
	`data` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`model`, `granularity`, `window_start`, `version`, `role`, `segment`, `shard`)
);
--> statement-breakpoint
CREATE TABLE `alert_configs` (
	`model` text PRIMARY KEY NOT NULL,
	`webhook` text NOT NULL,
	`dataset_drift` real,
	`feature_drift` text,
	`error_rate` real,
	`latency_p95_ms` real,
	`window_minutes` integer NOT NULL,
	`min_rows` integer NOT NULL,
	`auto_rollback` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `alert_states` (
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`state` text NOT NULL,
	`since` integer NOT NULL,
	PRIMARY KEY(`model`, `version`, `kind`, `subject`)
);
--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`state` text NOT NULL,
	`value` real,
	`threshold` real,
	`window_from` integer NOT NULL,
	`window_to` integer NOT NULL,
	`message` text NOT NULL,
	`at` integer NOT NULL,
	`delivered_at` integer,
	`attempts` integer NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX `alerts_model` ON `alerts` (`model`,`id`);--> statement-breakpoint
CREATE TABLE `segment_values` (
	`model` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`model`, `key`, `value`)
);
