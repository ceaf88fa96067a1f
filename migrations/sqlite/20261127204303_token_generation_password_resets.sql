-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_users" table
CREATE TABLE `new_users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `inserted_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `subname` text NOT NULL, `email` text NOT NULL, `job` text NOT NULL, `password_hash` text NOT NULL, `token_generation` integer NOT NULL DEFAULT (0), `tokens_valid_after` datetime NULL, `password_set_at` datetime NULL);
-- Copy rows from old table "users" to new temporary table "new_users"
INSERT INTO `new_users` (`id`, `inserted_at`, `updated_at`, `name`, `subname`, `email`, `job`, `password_hash`, `tokens_valid_after`, `password_set_at`) SELECT `id`, `inserted_at`, `updated_at`, `name`, `subname`, `email`, `job`, `password_hash`, `tokens_valid_after`, `password_set_at` FROM `users`;
-- Drop "users" table after copying rows
DROP TABLE `users`;
-- Rename temporary table "new_users" to "users"
ALTER TABLE `new_users` RENAME TO `users`;
-- Create index "users_email_key" to table: "users"
CREATE UNIQUE INDEX `users_email_key` ON `users` (`email`);
-- Create "password_resets" table
CREATE TABLE `password_resets` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `token_hash` text NOT NULL, `expires_at` datetime NOT NULL, `created_at` datetime NOT NULL, `user_id` integer NOT NULL, CONSTRAINT `password_resets_users_password_reset` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Create index "password_resets_token_hash_key" to table: "password_resets"
CREATE UNIQUE INDEX `password_resets_token_hash_key` ON `password_resets` (`token_hash`);
-- Create index "password_resets_user_id_key" to table: "password_resets"
CREATE UNIQUE INDEX `password_resets_user_id_key` ON `password_resets` (`user_id`);
-- Create index "passwordreset_expires_at" to table: "password_resets"
CREATE INDEX `passwordreset_expires_at` ON `password_resets` (`expires_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
