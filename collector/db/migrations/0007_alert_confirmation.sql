ALTER TABLE `alert_configs` ADD `confirm_k` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `alert_configs` ADD `confirm_m` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `alert_states` ADD `recent` text DEFAULT '' NOT NULL;