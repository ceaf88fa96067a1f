-- Create "rate_limits" table
CREATE TABLE `rate_limits` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `key` text NOT NULL, `tokens` real NOT NULL, `updated_ms` integer NOT NULL);
-- Create index "rate_limits_key_key" to table: "rate_limits"
CREATE UNIQUE INDEX `rate_limits_key_key` ON `rate_limits` (`key`);
-- Create index "ratelimit_updated_ms" to table: "rate_limits"
CREATE INDEX `ratelimit_updated_ms` ON `rate_limits` (`updated_ms`);
