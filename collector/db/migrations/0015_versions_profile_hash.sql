DROP INDEX `versions_model_sha256`;--> statement-breakpoint
ALTER TABLE `versions` ADD `profile_hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `versions_model_sha256_profile` ON `versions` (`model`,`sha256`,`profile_hash`);