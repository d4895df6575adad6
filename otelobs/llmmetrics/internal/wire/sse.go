package wire

import (
	"bytes"
	"io"
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
	in  []byte // read, not yet split into events
	out []byte // whole events the caller has not read yet
	tmp []byte
	err error // the read error that ended the stream
	mu  sync.Mutex
	end sync.Once
}

const streamReadSize = 4 << 10

func newStreamBody(rc io.ReadCloser, a *attempt) *streamBody {
	return &streamBody{rc: rc, a: a, tmp: make([]byte, streamReadSize)}
}

func (s *streamBody) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.rc.Read(s.tmp)
		s.in = append(s.in, s.tmp[:n]...)
		s.split()
		if err != nil {
			// What is left is an event without its blank line.
			if len(s.in) > 0 {
				s.event(s.in)
				s.in = s.in[:0]
			}
			s.err = err
			if err == io.EOF && !s.r.Done {
				s.finish(errCut)
			} else if err == io.EOF {
				s.finish(nil)
			} else {
				s.finish(err)
			}
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	if len(s.out) == 0 {
		s.out = nil
	}
	return n, nil
}

// split moves the whole events of in to out.
func (s *streamBody) split() {
	for {
		i, sep := eventEnd(s.in)
		if i < 0 {
			return
		}
		s.event(s.in[:i+sep])
		s.in = s.in[i+sep:]
	}
	// in keeps its backing array; it holds at most one partial event.
}

// eventEnd finds the blank line that ends the first event of b: its index
// and length, or -1.
func eventEnd(b []byte) (int, int) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case b[i+1] == '\n':
			return i, 2
		case b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n':
			return i, 3
		}
	}
	return -1, 0
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
		var chunk bool
		chunk, hide = s.a.w.dialect.Event(&s.r, name, data, s.a.hideUsage)
		if chunk {
			s.a.call.Chunk()
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
