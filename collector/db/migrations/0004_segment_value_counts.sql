ALTER TABLE `segment_values` ADD `epoch` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `segment_values` ADD `hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `segment_values` ADD `prev_hits` integer DEFAULT 0 NOT NULL;