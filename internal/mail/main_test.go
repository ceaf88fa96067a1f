package mail

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: queue
// workers, SMTP connections and context watches must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
