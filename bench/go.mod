module github.com/roomcast/sse/bench

go 1.26

require (
	github.com/alexandrevicenzi/go-sse v1.6.0
	github.com/r3labs/sse/v2 v2.10.0
	github.com/roomcast/sse v0.0.0
	github.com/tmaxmax/go-sse v0.12.0
)

require (
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/rs/xid v1.6.0 // indirect
	golang.org/x/net v0.0.0-20201021035429-f5854403a974 // indirect
	gopkg.in/cenkalti/backoff.v1 v1.1.0 // indirect
)

// The library under test is this repository's root, not a published version.
replace github.com/roomcast/sse => ../
