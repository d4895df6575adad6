package wire

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// errAbandoned ends a call whose caller closed the response before its end.
var errAbandoned = llmmetrics.NewError(llmmetrics.ErrorCanceled, errors.New("the response was closed before its end"))

// errCut ends a stream that stopped before its end event.
var errCut = llmmetrics.NewError(llmmetrics.ErrorConnection, errors.New("the stream ended before its end event"))

// maxJSONCopy bounds the copy of a JSON response kept to read its usage
// from. Past it (a large embeddings response: 2,048 inputs of 3,072
// dimensions are about 90 MB), the rest is scanned instead, keeping only
// the top-level model and usage.
const maxJSONCopy = 4 << 20

// jsonBody passes a JSON response through and reads its usage at the end:
// at EOF, or when the caller closes it after the whole document (a decoder
// that stops at the document's end never reads EOF).
type jsonBody struct {
	rc   io.ReadCloser
	a    *attempt
	buf  strings.Builder // a string at the end without a copy
	scan *topLevel       // past maxJSONCopy
	once sync.Once
}

func newJSONBody(rc io.ReadCloser, a *attempt, size int64) *jsonBody {
	b := &jsonBody{rc: rc, a: a}
	if size > 0 && size <= maxJSONCopy {
		b.buf.Grow(int(size))
	}
	return b
}

func (b *jsonBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case b.scan != nil:
		b.scan.write(p[:n])
	case b.buf.Len()+n > maxJSONCopy:
		b.scan = &topLevel{keys: map[string]bool{"model": true, "usage": true}}
		b.scan.write([]byte(b.buf.String()))
		b.scan.write(p[:n])
		b.buf = strings.Builder{}
	default:
		b.buf.Write(p[:n])
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
	if b.complete() {
		b.end(nil)
	} else {
		b.end(errAbandoned)
	}
	return err
}

// complete reports whether the whole document has been read.
func (b *jsonBody) complete() bool {
	if b.scan != nil {
		return b.scan.done
	}
	return b.buf.Len() > 0 && gjson.Valid(b.buf.String())
}

// end ends the call once: with the usage read, or with err.
func (b *jsonBody) end(err error) {
	b.once.Do(func() {
		if err != nil {
			b.a.finish(Result{}, err)
			return
		}
		body := b.buf.String()
		if b.scan != nil {
			body = b.scan.document()
		}
		b.a.finish(b.a.w.dialect.Response(Info{Endpoint: b.a.endpoint}, body), nil)
		b.buf, b.scan = strings.Builder{}, nil
	})
}

// topLevel scans a JSON object as it streams by and keeps the raw values
// of some of its top-level keys. It trusts the document to be JSON (the
// dialect's reader parses what it keeps).
type topLevel struct {
	keys  map[string]bool
	kept  []string // "key":value pairs
	depth int
	str   bool // in a string
	esc   bool // after a backslash in a string
	key   []byte
	isKey bool // the string at depth 1 is a key
	val   []byte
	keep  bool // capturing a value
	last  string
	done  bool
}

func (t *topLevel) write(p []byte) {
	for _, c := range p {
		if t.done {
			return
		}
		if t.keep {
			t.val = append(t.val, c)
		}
		switch {
		case t.str:
			switch {
			case t.esc:
				t.esc = false
			case c == '\\':
				t.esc = true
			case c == '"':
				t.str = false
				if t.isKey {
					t.last, t.key, t.isKey = string(t.key), t.key[:0], false
				}
			default:
				if t.isKey && len(t.key) < 64 {
					t.key = append(t.key, c)
				}
			}
			if !t.str && t.keep && t.depth == 1 {
				t.flush() // a string value at the top level ends here
			}
		case c == '"':
			t.str = true
			t.isKey = t.depth == 1 && !t.keep && t.last == ""
		case c == ':' && t.depth == 1:
			if t.keys[t.last] {
				t.keep, t.val = true, t.val[:0]
			}
		case c == ',' && t.depth == 1:
			t.flush()
			t.last = ""
		case c == '{' || c == '[':
			t.depth++
		case c == '}' || c == ']':
			t.depth--
			if t.keep && t.depth == 1 {
				t.flush()
			}
			if t.depth == 0 {
				if t.keep {
					t.val = t.val[:len(t.val)-1] // the object's own brace
				}
				t.flush()
				t.done = true
			}
		}
	}
}

// flush keeps the value captured, if any.
func (t *topLevel) flush() {
	if t.keep {
		t.kept = append(t.kept, `"`+t.last+`":`+strings.TrimSpace(strings.TrimSuffix(string(t.val), ",")))
		t.keep, t.val = false, t.val[:0]
	}
}

// document returns the kept pairs as a JSON object.
func (t *topLevel) document() string { return "{" + strings.Join(t.kept, ",") + "}" }

// errorBody is an error response. The SDK reads the body of the one that
// ends the call and closes a retried one unread. One it neither reads nor
// closes (a caller whose context ended as the response came) ends the call
// soon after that context does.
type errorBody struct {
	rc   io.ReadCloser
	a    *attempt
	err  error
	once sync.Once
	stop func() bool
}

func newErrorBody(ctx context.Context, rc io.ReadCloser, a *attempt, err error) *errorBody {
	b := &errorBody{rc: rc, a: a, err: err}
	b.stop = context.AfterFunc(ctx, func() {
		t, cause := time.Now(), ctx.Err()
		time.AfterFunc(ctxGrace, func() { b.once.Do(func() { b.a.call.EndAt(&cause, t) }) })
	})
	return b
}

func (b *errorBody) Read(p []byte) (int, error) {
	b.once.Do(func() {
		b.stop()
		b.a.finish(Result{}, b.err)
	})
	return b.rc.Read(p)
}

func (b *errorBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.stop()
		b.a.w.carry(b.a, b.err)
	})
	return err
}
