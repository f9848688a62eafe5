package emulator

// WriteEvent describes one applied write to OnWrite's hook.
type WriteEvent struct {
	// N counts the applied writes since New or the last reset, from 1.
	N int
	// Method, Path (without query) and Op (as in FaultRule.Op) name the call.
	Method, Path, Op string
	// Identity is the caller as /_emulator/stats keys it ("user:<oid>" or
	// "app:<appid>").
	Identity string
	// Status is what the operation answered (2xx).
	Status int
	// Fault is the fault that replaces or delays the answer the client will
	// see (5xx-after-write, reset-after-write, slow, truncate), "" for none.
	Fault string
}

// writeHook is the function OnWrite installed; held behind an atomic
// pointer so that requests never wait on a lock to read it.
type writeHook func(WriteEvent)

// OnWrite installs fn to be told of every applied write: a non-GET API call
// whose operation answered 2xx (Create, Update, Delete, Turn On/Off,
// Restore, modifyPermissions, …; a faulted answer after the write, such as
// 5xx-after-write, is still an applied write). nil removes the hook; a new
// call replaces the previous one.
//
// fn runs synchronously on the request's goroutine after the state changed
// and before any byte of the answer is sent, so a crash test can kill the
// client process from fn at exactly the Nth write, and that client never
// sees the answer. Calls run concurrently when requests do; N follows the
// order in which the writes finished.
func (s *Server) OnWrite(fn func(WriteEvent)) {
	if fn == nil {
		s.hook.Store(nil)
		return
	}
	h := writeHook(fn)
	s.hook.Store(&h)
}

// wroteHook counts an applied write and tells the hook.
func (s *Server) wroteHook(c *call, op string, status int, fault *FaultRule) {
	n := s.writes.Add(1)
	s.book.applied(c.identity)
	h := s.hook.Load()
	if h == nil {
		return
	}
	ev := WriteEvent{N: int(n), Method: c.r.Method, Path: c.r.URL.Path, Op: op, Identity: c.identity, Status: status}
	if fault != nil {
		ev.Fault = fault.Kind
	}
	(*h)(ev)
}
