module github.com/roomcast/sse/bench

go 1.26

require (
	github.com/alexandrevicenzi/go-sse v1.6.0
	github.com/r3labs/sse/v2 v2.10.0
	github.com/tmaxmax/go-sse v0.12.0
)

require (
	golang.org/x/net v0.0.0-20201021035429-f5854403a974 // indirect
	gopkg.in/cenkalti/backoff.v1 v1.1.0 // indirect
)
