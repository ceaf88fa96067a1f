-- Add column "password_set_at" to table: "users"
ALTER TABLE `users` ADD COLUMN `password_set_at` datetime NULL;
-- Create "dev_mails" table
CREATE TABLE `dev_mails` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `to` text NOT NULL, `from` text NOT NULL, `subject` text NOT NULL, `text` text NOT NULL, `html` text NOT NULL, `sent_at` datetime NOT NULL);
-- Create "outbox_mails" table
CREATE TABLE `outbox_mails` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `kind` text NOT NULL, `to` text NOT NULL, `created_at` datetime NOT NULL, `attempts` integer NOT NULL DEFAULT (0), `next_attempt_at` datetime NOT NULL, `claimed_until` datetime NULL, `sent_at` datetime NULL, `failed_at` datetime NULL, `last_error` text NULL, `user_id` integer NOT NULL, CONSTRAINT `outbox_mails_users_outbox_mails` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Create index "outboxmail_next_attempt_at" to table: "outbox_mails"
CREATE INDEX `outboxmail_next_attempt_at` ON `outbox_mails` (`next_attempt_at`) WHERE sent_at IS NULL AND failed_at IS NULL;
-- Create index "outboxmail_user_id" to table: "outbox_mails"
CREATE INDEX `outboxmail_user_id` ON `outbox_mails` (`user_id`);
