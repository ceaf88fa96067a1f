-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_conversations" table
CREATE TABLE `new_conversations` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `inserted_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `user_low` integer NOT NULL, `user_high` integer NOT NULL, `status` text NULL, `last_activity_at` datetime NOT NULL, `last_message_id` integer NULL, `sender_read_id` integer NULL, `recipient_read_id` integer NULL, `sender_unread` integer NOT NULL DEFAULT (0), `recipient_unread` integer NOT NULL DEFAULT (0), `sender_id` integer NOT NULL, `recipient_id` integer NOT NULL, CONSTRAINT `conversations_users_sender_conversations` FOREIGN KEY (`sender_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversations_users_recipient_conversations` FOREIGN KEY (`recipient_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversation_distinct_users` CHECK (sender_id <> recipient_id), CONSTRAINT `conversation_ordered_pair` CHECK (user_low < user_high), CONSTRAINT `conversation_pair_is_participants` CHECK ((user_low = sender_id AND user_high = recipient_id) OR (user_low = recipient_id AND user_high = sender_id)));
-- Copy rows from old table "conversations" to new temporary table "new_conversations"
INSERT INTO `new_conversations` (`id`, `inserted_at`, `updated_at`, `user_low`, `user_high`, `status`, `last_activity_at`, `last_message_id`, `sender_id`, `recipient_id`) SELECT `id`, `inserted_at`, `updated_at`, `user_low`, `user_high`, `status`, `last_activity_at`, `last_message_id`, `sender_id`, `recipient_id` FROM `conversations`;
-- Drop "conversations" table after copying rows
DROP TABLE `conversations`;
-- Rename temporary table "new_conversations" to "conversations"
ALTER TABLE `new_conversations` RENAME TO `conversations`;
-- Create index "conversation_user_low_user_high" to table: "conversations"
CREATE UNIQUE INDEX `conversation_user_low_user_high` ON `conversations` (`user_low`, `user_high`);
-- Create index "conversation_user_high" to table: "conversations"
CREATE INDEX `conversation_user_high` ON `conversations` (`user_high`);
-- Create index "conversation_last_activity_at_id" to table: "conversations"
CREATE INDEX `conversation_last_activity_at_id` ON `conversations` (`last_activity_at`, `id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
