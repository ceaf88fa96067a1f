-- Modify "users" table
ALTER TABLE "users" ADD COLUMN "tokens_valid_after" timestamptz NULL;
