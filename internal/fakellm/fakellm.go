// Package fakellm holds local fakes of LLM provider APIs for tests: HTTP
// servers on 127.0.0.1 that speak each API's wire format (JSON responses,
// server-sent-event streams, error bodies, rate-limit headers), answering
// from a script of replies, so that the official SDKs can be tested against
// them unchanged.
package fakellm

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is what the fake answers to one request.
type Reply struct {
	// Status is the HTTP status; 0 is 200.
	Status int
	// Header is added to the response (rate-limit headers, retry-after).
	Header map[string]string
	// Model answers; empty is the requested model.
	Model string
	// Text is the answer, streamed one word a chunk.
	Text string
	// ToolCalls is how many tool calls the answer asks for.
	ToolCalls int
	// Usage is what the provider reports.
	Usage Usage
	// FirstChunkDelay delays the first chunk of a stream (or a whole JSON
	// answer); ChunkDelay each later chunk.
	FirstChunkDelay, ChunkDelay time.Duration
	// CutAfter, when above 0, cuts the connection after that many chunks
	// of a stream, without its end.
	CutAfter int
}

// Usage is a provider's token report, in the fake's own terms: each API's
// fake writes it in that API's fields.
type Usage struct {
	Input, Output, CacheRead, CacheWrite, Reasoning int64
}

// Request is a request the fake received.
type Request struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

// Server is a fake API server.
type Server struct {
	URL string

	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, body map[string]any, reply Reply)

	mu       sync.Mutex
	replies  []Reply
	fallback Reply
	respond  func(Request) Reply
	requests []Request
}

// newServer starts a fake on 127.0.0.1 and stops it when the test ends.
func newServer(tb testing.TB, handle func(http.ResponseWriter, *http.Request, map[string]any, Reply)) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{handle: handle, fallback: Reply{Text: "ok", Usage: Usage{Input: 10, Output: 2}}}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Script queues replies, answered in order; once they are used up, every
// request gets the fallback (SetFallback).
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// SetFallback sets the reply once the script is used up.
func (s *Server) SetFallback(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// Respond makes f answer the requests that the script does not, in place of
// the fallback: to answer from what was asked, or to check a header.
func (s *Server) Respond(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	req := Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	reply, respond := s.fallback, s.respond
	scripted := len(s.replies) > 0
	if scripted {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()
	if !scripted && respond != nil {
		reply = respond(req)
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	if reply.Model == "" {
		reply.Model, _ = body["model"].(string)
	}
	s.handle(w, r, body, reply)
}

// sse writes one server-sent event and flushes it.
func sse(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	if event != "" {
		_, _ = io.WriteString(w, "event: "+event+"\n")
	}
	_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
	w.(http.Flusher).Flush()
}

// words splits a reply's text into the chunks of a stream.
func words(text string) []string {
	f := strings.SplitAfter(text, " ")
	if len(f) == 0 || text == "" {
		return []string{""}
	}
	return f
}

// cut aborts the connection, so that the client sees a stream cut short.
func cut() { panic(http.ErrAbortHandler) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
