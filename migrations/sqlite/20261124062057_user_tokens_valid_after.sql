-- Add column "tokens_valid_after" to table: "users"
ALTER TABLE `users` ADD COLUMN `tokens_valid_after` datetime NULL;
