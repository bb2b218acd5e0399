CREATE TABLE `quarantine` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model` text NOT NULL,
	`object` text NOT NULL,
	`key` text NOT NULL,
	`reason` text NOT NULL,
	`data` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `quarantine_model` ON `quarantine` (`model`,`id`);--> statement-breakpoint
CREATE TABLE `rollout_history` (
	`model` text NOT NULL,
	`config_version` integer NOT NULL,
	`state` text NOT NULL,
	`ended_at` integer NOT NULL,
	PRIMARY KEY(`model`, `config_version`)
);
--> statement-breakpoint
ALTER TABLE `segment_values` ADD `epoch` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `segment_values` ADD `hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `segment_values` ADD `prev_hits` integer DEFAULT 0 NOT NULL;