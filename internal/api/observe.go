package api

import "time"

// RequestObserver hears of every request the API answered: its route
// template as the route table writes it ("POST /v1/transfers", "GET
// /v1/parties/{type}/{value}"; "" when no route matched — never the raw
// path, which may hold an alias), its method, status, how long it took
// and the bytes of its answer. It is called on the request's goroutine
// after the answer is written, and must be quick.
type RequestObserver interface {
	Request(route, method string, status int, took time.Duration, bytes int64)
}
