CREATE TABLE `rollout_history` (
	`model` text NOT NULL,
	`config_version` integer NOT NULL,
	`state` text NOT NULL,
	`ended_at` integer NOT NULL,
	PRIMARY KEY(`model`, `config_version`)
);
