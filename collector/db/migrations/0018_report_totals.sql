CREATE TABLE `report_totals` (
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`role` text NOT NULL,
	`code` text NOT NULL,
	`reports` integer NOT NULL,
	`rows` integer NOT NULL,
	`errors` integer NOT NULL,
	PRIMARY KEY(`model`, `version`, `role`, `code`)
);
--> statement-breakpoint
ALTER TABLE `aggregate_flushes` ADD `totals` integer DEFAULT 0 NOT NULL;