PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_alert_configs` (
	`model` text PRIMARY KEY NOT NULL,
	`webhook` text,
	`dataset_drift` real,
	`feature_drift` text,
	`error_rate` real,
	`latency_p95_ms` real,
	`latency_p99_ms` real,
	`throughput_fleet` real,
	`throughput_client` real,
	`slo_period_days` integer DEFAULT 30 NOT NULL,
	`accuracy_drop` real,
	`mae_increase` real,
	`estimated_accuracy_drop` real,
	`min_labelled` integer DEFAULT 100 NOT NULL,
	`window_minutes` integer NOT NULL,
	`min_rows` integer NOT NULL,
	`auto_rollback` integer NOT NULL,
	`confirm_k` integer DEFAULT 1 NOT NULL,
	`confirm_m` integer DEFAULT 1 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
-- only the columns the old table has: the new ones take their defaults (drizzle-kit listed them in the SELECT too)
INSERT INTO `__new_alert_configs`("model", "webhook", "dataset_drift", "feature_drift", "error_rate", "latency_p95_ms", "accuracy_drop", "mae_increase", "estimated_accuracy_drop", "min_labelled", "window_minutes", "min_rows", "auto_rollback", "confirm_k", "confirm_m", "updated_at") SELECT "model", "webhook", "dataset_drift", "feature_drift", "error_rate", "latency_p95_ms", "accuracy_drop", "mae_increase", "estimated_accuracy_drop", "min_labelled", "window_minutes", "min_rows", "auto_rollback", "confirm_k", "confirm_m", "updated_at" FROM `alert_configs`;--> statement-breakpoint
DROP TABLE `alert_configs`;--> statement-breakpoint
ALTER TABLE `__new_alert_configs` RENAME TO `alert_configs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;