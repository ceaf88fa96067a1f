package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// User holds the schema definition for the User entity.
type User struct {
	ent.Schema
}

// Mixin of the User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{Timestamps{}}
}

// Fields of the User. The email is stored in its normal form (see
// NormalizeEmail and Hooks) so that the unique index holds whatever case or
// look-alike characters an address is typed with, on both stores.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			NotEmpty().
			MaxRuneLen(255),
		field.String("subname").
			NotEmpty().
			MaxRuneLen(255),
		field.String("email").
			Unique().
			MaxRuneLen(255).
			Match(EmailPattern),
		field.String("job").
			NotEmpty().
			MaxRuneLen(255),
		field.String("password_hash").
			Sensitive().
			NotEmpty(),
		// token_generation is carried by every token issued (its "gen"
		// claim) and moved on by each password change or reset: a token
		// of an earlier generation no longer works, whatever the clocks
		// say. A counter, not an instant, so that a token issued in the
		// same second as a change (or by a node whose clock is ahead) is
		// ended as surely as an older one.
		field.Int("token_generation").
			Default(0).
			NonNegative(),
		// tokens_valid_after ends the tokens issued before it that carry
		// no generation (issued by versions before token_generation): their
		// iat is compared with it. Every such token expires within
		// TOKEN_TTL of the upgrade.
		field.Time("tokens_valid_after").
			Optional().
			Nillable(),
		// password_set_at is when the user last chose their password; while
		// it is unset, the welcome mail may (re)generate one.
		field.Time("password_set_at").
			Optional().
			Nillable(),
	}
}

// Edges of the User. Users are never deleted by the API; deleting one that
// has conversations or messages is refused by the database (NO ACTION) so
// that history cannot vanish as a side effect.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("sender_conversations", Conversation.Type).
			Annotations(entsql.OnDelete(entsql.NoAction)),
		edge.To("recipient_conversations", Conversation.Type).
			Annotations(entsql.OnDelete(entsql.NoAction)),
		edge.To("messages", Message.Type).
			Annotations(entsql.OnDelete(entsql.NoAction)),
		edge.To("outbox_mails", OutboxMail.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		// A user has at most one live reset token: a newer replaces it.
		edge.To("password_reset", PasswordReset.Type).
			Unique().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Hooks of the User.
func (User) Hooks() []ent.Hook {
	return []ent.Hook{normalizeEmail}
}
