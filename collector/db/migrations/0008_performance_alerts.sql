ALTER TABLE `alert_configs` ADD `accuracy_drop` real;--> statement-breakpoint
ALTER TABLE `alert_configs` ADD `mae_increase` real;--> statement-breakpoint
ALTER TABLE `alert_configs` ADD `min_labelled` integer DEFAULT 100 NOT NULL;