-- Modify "conversations" table
ALTER TABLE "conversations" ADD CONSTRAINT "conversation_pair_is_participants" CHECK (((user_low = sender_id) AND (user_high = recipient_id)) OR ((user_low = recipient_id) AND (user_high = sender_id)));
