-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_messages" table
CREATE TABLE `new_messages` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `content` text NOT NULL, `date` datetime NOT NULL, `client_id` text NULL, `conversation_id` integer NOT NULL, `sender_id` integer NOT NULL, CONSTRAINT `messages_conversations_messages` FOREIGN KEY (`conversation_id`) REFERENCES `conversations` (`id`) ON DELETE CASCADE, CONSTRAINT `messages_users_messages` FOREIGN KEY (`sender_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Copy rows from old table "messages" to new temporary table "new_messages"
INSERT INTO `new_messages` (`id`, `content`, `date`, `conversation_id`, `sender_id`) SELECT `id`, `content`, `date`, `conversation_id`, `sender_id` FROM `messages`;
-- Drop "messages" table after copying rows
DROP TABLE `messages`;
-- Rename temporary table "new_messages" to "messages"
ALTER TABLE `new_messages` RENAME TO `messages`;
-- Create index "message_conversation_id_id" to table: "messages"
CREATE INDEX `message_conversation_id_id` ON `messages` (`conversation_id`, `id`);
-- Create index "message_sender_id_client_id" to table: "messages"
CREATE UNIQUE INDEX `message_sender_id_client_id` ON `messages` (`sender_id`, `client_id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
