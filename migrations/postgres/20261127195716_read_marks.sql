-- Modify "conversations" table
ALTER TABLE "conversations" ADD COLUMN "sender_read_id" bigint NULL, ADD COLUMN "recipient_read_id" bigint NULL, ADD COLUMN "sender_unread" bigint NOT NULL DEFAULT 0, ADD COLUMN "recipient_unread" bigint NOT NULL DEFAULT 0;
