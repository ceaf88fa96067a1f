-- Drop index "message_sender_id" from table: "messages"
DROP INDEX "message_sender_id";
-- Modify "messages" table
ALTER TABLE "messages" ADD COLUMN "client_id" character varying NULL;
-- Create index "message_sender_id_client_id" to table: "messages"
CREATE UNIQUE INDEX "message_sender_id_client_id" ON "messages" ("sender_id", "client_id");
