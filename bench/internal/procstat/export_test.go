package procstat

var (
	ParseRSS = parseRSS
	ParseIO  = parseIO
)
