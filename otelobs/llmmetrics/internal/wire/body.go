package wire

import (
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// maxJSONBody bounds the copy of a JSON response kept to read its usage
// from. LLM and embedding responses are far smaller; past it the call is
// recorded without usage.
const maxJSONBody = 64 << 20

// errAbandoned ends a call whose caller closed the response before its end.
var errAbandoned = llmmetrics.NewError(llmmetrics.ErrorCanceled, errors.New("the response was closed before its end"))

// errCut ends a stream that stopped before its end event.
var errCut = llmmetrics.NewError(llmmetrics.ErrorConnection, errors.New("the stream ended before its end event"))

// jsonBody passes a JSON response through and reads its usage at the end.
type jsonBody struct {
	rc   io.ReadCloser
	a    *attempt
	buf  strings.Builder // a string at the end without a copy
	over bool
	once sync.Once
}

func newJSONBody(rc io.ReadCloser, a *attempt, size int64) *jsonBody {
	b := &jsonBody{rc: rc, a: a}
	if size > 0 && size <= maxJSONBody {
		b.buf.Grow(int(size))
	}
	return b
}

func (b *jsonBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if !b.over {
		if b.buf.Len()+n > maxJSONBody {
			b.over = true
			b.buf.Reset()
		} else {
			b.buf.Write(p[:n])
		}
	}
	switch {
	case err == io.EOF:
		b.end(nil)
	case err != nil:
		b.end(err)
	}
	return n, err
}

func (b *jsonBody) Close() error {
	err := b.rc.Close()
	b.end(errAbandoned)
	return err
}

// end ends the call once: at EOF with the usage read, else with err.
func (b *jsonBody) end(err error) {
	b.once.Do(func() {
		if err != nil {
			b.a.finish(Result{}, err)
			return
		}
		r := Result{}
		if !b.over {
			r = b.a.w.dialect.Response(Info{Endpoint: b.a.endpoint}, b.buf.String())
		}
		b.buf.Reset()
		b.a.finish(r, nil)
	})
}

// errorBody is an error response. The SDK reads the body of the one that
// ends the call and closes a retried one unread.
type errorBody struct {
	rc   io.ReadCloser
	a    *attempt
	err  error
	read bool
	once sync.Once
}

func (b *errorBody) Read(p []byte) (int, error) {
	if !b.read {
		b.read = true
		b.once.Do(func() { b.a.finish(Result{}, b.err) })
	}
	return b.rc.Read(p)
}

func (b *errorBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.a.w.carry(b.a, b.err) })
	return err
}
