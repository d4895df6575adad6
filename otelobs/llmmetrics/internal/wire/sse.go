package wire

import (
	"bytes"
	"io"
	"slices"
	"sync"
)

// streamBody passes a server-sent-event stream through event by event,
// reading each event as it goes by: chunks for time to first chunk and per
// chunk, usage, the answering model and tool calls. The call ends at the end
// of the stream, at a read error (a stream cut short), or when the caller
// closes it (an abandoned stream): each records what arrived.
type streamBody struct {
	rc  io.ReadCloser
	a   *attempt
	r   Result
	in  []byte // read: in[inOff:] is not yet split into events
	out []byte // whole events: out[outOff:] is not yet read by the caller
	err error  // the read error that ended the stream

	inOff, outOff int
	seen          int // in[:seen] has been searched for event ends

	mu  sync.Mutex
	end sync.Once
}

const streamReadSize = 4 << 10

func newStreamBody(rc io.ReadCloser, a *attempt) *streamBody {
	buf := make([]byte, 2*streamReadSize)
	return &streamBody{rc: rc, a: a, in: buf[:0:streamReadSize], out: buf[streamReadSize:streamReadSize]}
}

func (s *streamBody) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.outOff == len(s.out) {
		if s.err != nil {
			return 0, s.err
		}
		s.out, s.outOff = s.out[:0], 0
		if s.inOff > 0 { // keep the partial event at the front
			s.in = s.in[:copy(s.in, s.in[s.inOff:])]
			s.seen -= s.inOff
			s.inOff = 0
		}
		if cap(s.in)-len(s.in) < streamReadSize/4 {
			s.in = slices.Grow(s.in, streamReadSize)
		}
		n, err := s.rc.Read(s.in[len(s.in):cap(s.in)])
		s.in = s.in[:len(s.in)+n]
		s.split()
		if err != nil {
			// What is left is an event without its blank line.
			if s.inOff < len(s.in) {
				s.event(s.in[s.inOff:])
				s.inOff = len(s.in)
			}
			s.err = err
			switch {
			case err == io.EOF && !s.r.Done:
				s.finish(errCut)
			case err == io.EOF:
				s.finish(nil)
			default:
				s.finish(err)
			}
		}
	}
	n := copy(p, s.out[s.outOff:])
	s.outOff += n
	return n, nil
}

// split moves the whole events of in to out. in[inOff:seen] was searched
// for an event's end before, and is not searched again (an event of
// megabytes arrives in many reads).
func (s *streamBody) split() {
	for {
		from := max(s.seen-2, s.inOff) // a separator may straddle two reads
		i, sep := eventEnd(s.in[from:])
		if i < 0 {
			s.seen = len(s.in)
			return
		}
		end := from + i + sep
		s.event(s.in[s.inOff:end])
		s.inOff, s.seen = end, end
	}
}

// eventEnd finds the blank line that ends the first event of b: its index
// and length, or -1.
func eventEnd(b []byte) (int, int) {
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1, 0
		}
		i += off
		switch {
		case i+1 >= len(b):
			return -1, 0
		case b[i+1] == '\n':
			return i, 2
		case b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n':
			return i, 3
		}
		off = i + 1
	}
}

// event reads one event, and passes it on unless the dialect hides it.
func (s *streamBody) event(raw []byte) {
	var name, data []byte
	for line := range bytes.Lines(raw) {
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if data != nil {
				// A copy: data must not write into raw.
				data = append(append(data[:len(data):len(data)], '\n'), d...)
			} else {
				data = d
			}
		case bytes.HasPrefix(line, []byte("event:")):
			name = bytes.TrimSpace(line[len("event:"):])
		}
	}
	hide := false
	if data != nil {
		before := s.r.Usage
		var chunk bool
		chunk, hide = s.a.w.dialect.Event(&s.r, name, data, s.a.hideUsage)
		if chunk {
			s.a.call.Chunk()
		}
		if s.r.HasUsage && s.r.Usage != before {
			// At once: an SDK that owns the span may end it before
			// the stream's end (StartCallIn).
			s.a.call.SetUsage(s.r.Usage)
		}
	}
	if !hide {
		s.out = append(s.out, raw...)
	}
}

func (s *streamBody) Close() error {
	err := s.rc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finish(errAbandoned)
	return err
}

// finish ends the call once with what arrived; a stream that reached its
// end event succeeded, whatever comes after.
func (s *streamBody) finish(err error) {
	s.end.Do(func() {
		switch {
		case s.r.Done:
			err = nil
		case s.r.Err != nil:
			err = s.r.Err
		}
		s.a.finish(s.r, err)
	})
}
