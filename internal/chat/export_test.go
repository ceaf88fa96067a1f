package chat

// BatchHooks hold the message writer at the points where a sender's giving
// up races it; each sees messages by content.
type BatchHooks struct {
	// Queued runs once a message is queued for its writer.
	Queued func(content string)
	// BeforeInsert runs before each statement; an error fails the
	// statement, as if the store had returned it, without running it.
	BeforeInsert func(contents []string) error
	// AfterInsert runs after each statement, before its senders hear.
	AfterInsert func(contents []string)
}

// SetBatchHooks installs h on s's writer; call it before the first send.
func SetBatchHooks(s *Service, h BatchHooks) {
	contents := func(batch []*writeReq) []string {
		c := make([]string, len(batch))
		for i, r := range batch {
			c[i] = r.m.content
		}
		return c
	}
	w := &s.writer.hooks
	if h.Queued != nil {
		w.queued = func(r *writeReq) { h.Queued(r.m.content) }
	}
	if h.BeforeInsert != nil {
		w.beforeInsert = func(b []*writeReq) error { return h.BeforeInsert(contents(b)) }
	}
	if h.AfterInsert != nil {
		w.afterInsert = func(b []*writeReq) { h.AfterInsert(contents(b)) }
	}
}
