-- Create "conversations" table
CREATE TABLE `conversations` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `inserted_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `user_low` integer NOT NULL, `user_high` integer NOT NULL, `status` text NULL, `last_activity_at` datetime NOT NULL, `last_message_id` integer NULL, `sender_id` integer NOT NULL, `recipient_id` integer NOT NULL, CONSTRAINT `conversations_users_sender_conversations` FOREIGN KEY (`sender_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversations_users_recipient_conversations` FOREIGN KEY (`recipient_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversation_distinct_users` CHECK (sender_id <> recipient_id), CONSTRAINT `conversation_ordered_pair` CHECK (user_low < user_high));
-- Create index "conversation_user_low_user_high" to table: "conversations"
CREATE UNIQUE INDEX `conversation_user_low_user_high` ON `conversations` (`user_low`, `user_high`);
-- Create index "conversation_user_high" to table: "conversations"
CREATE INDEX `conversation_user_high` ON `conversations` (`user_high`);
-- Create index "conversation_last_activity_at_id" to table: "conversations"
CREATE INDEX `conversation_last_activity_at_id` ON `conversations` (`last_activity_at`, `id`);
-- Create "messages" table
CREATE TABLE `messages` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `content` text NOT NULL, `date` datetime NOT NULL, `conversation_id` integer NOT NULL, `sender_id` integer NOT NULL, CONSTRAINT `messages_conversations_messages` FOREIGN KEY (`conversation_id`) REFERENCES `conversations` (`id`) ON DELETE CASCADE, CONSTRAINT `messages_users_messages` FOREIGN KEY (`sender_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "message_conversation_id_id" to table: "messages"
CREATE INDEX `message_conversation_id_id` ON `messages` (`conversation_id`, `id`);
-- Create index "message_sender_id" to table: "messages"
CREATE INDEX `message_sender_id` ON `messages` (`sender_id`);
-- Create "revoked_tokens" table
CREATE TABLE `revoked_tokens` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `jti` text NOT NULL, `expires_at` datetime NOT NULL);
-- Create index "revoked_tokens_jti_key" to table: "revoked_tokens"
CREATE UNIQUE INDEX `revoked_tokens_jti_key` ON `revoked_tokens` (`jti`);
-- Create index "revokedtoken_expires_at" to table: "revoked_tokens"
CREATE INDEX `revokedtoken_expires_at` ON `revoked_tokens` (`expires_at`);
-- Create "users" table
CREATE TABLE `users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `inserted_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `subname` text NOT NULL, `email` text NOT NULL, `job` text NOT NULL, `password_hash` text NOT NULL);
-- Create index "users_email_key" to table: "users"
CREATE UNIQUE INDEX `users_email_key` ON `users` (`email`);
