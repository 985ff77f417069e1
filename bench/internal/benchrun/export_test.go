package benchrun

import "io"

var (
	Count           = count
	Field           = field
	MachineBusy     = machineBusy
	ReadURL         = readURL
	NewPrefixWriter = func(w io.Writer, prefix string) io.Writer { return &prefixWriter{w: w, prefix: prefix} }
)
