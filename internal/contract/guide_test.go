package contract

import (
	"os"
	"strings"
	"testing"
)

// TestGuideQueriesDocumented: docs/guide-queries.md shows every guide query
// and every correction verbatim (newlines folded), so the doc cannot drift
// from the queries the e2e tests run.
func TestGuideQueriesDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/guide-queries.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	fold := func(q string) string { return strings.Join(strings.Fields(q), " ") }
	for _, q := range GuideQueries {
		if !strings.Contains(doc, fold(q.Query)) {
			t.Errorf("docs/guide-queries.md lacks the guide query %q", fold(q.Query))
		}
		if (q.Problem == "") != (q.Fixed == "") {
			t.Errorf("%s: a problem needs a fix and a fix a problem", q.Title)
		}
		if q.Fixed != "" && !strings.Contains(doc, fold(q.Fixed)) {
			t.Errorf("docs/guide-queries.md lacks the corrected query %q", fold(q.Fixed))
		}
	}
}
