package signal

// Access to internals for the tests of package signal_test.

var (
	NewSecret = newSecret
	ValidID   = validID
)

// NewMemStore returns the in-process Store.
func NewMemStore() Store { return newMemStore() }
