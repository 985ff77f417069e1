module github.com/roomcast/sse/cmd/sse-signal

go 1.25.0

require (
	github.com/redis/go-redis/v9 v9.17.3
	github.com/roomcast/sse v0.0.0-00010101000000-000000000000
	github.com/roomcast/sse/backplane/redis v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/rs/xid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace (
	github.com/roomcast/sse => ../..
	github.com/roomcast/sse/backplane/redis => ../../backplane/redis
)
