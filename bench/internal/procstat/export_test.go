package procstat

var ParseRSS = parseRSS
