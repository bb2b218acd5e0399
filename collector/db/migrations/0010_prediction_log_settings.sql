ALTER TABLE `rollouts` ADD `log_rate` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `rollouts` ADD `log_retention_days` integer DEFAULT 30 NOT NULL;