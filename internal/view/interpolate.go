package view

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// varRef finds $name, ${name} and [[name]] in a query.
var varRef = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)`)

// bareValue is what a variable may expand to outside a string literal
// (a label name in by(…), a number): anything else could change the query.
var bareValue = regexp.MustCompile(`^[a-zA-Z0-9_:.]*$`)

// interpolate replaces the variables in a query, in one pass (a value is
// never expanded again), each escaped for where it stands: inside "…" or
// '…' its quotes and backslashes are escaped; inside `…`, which cannot
// escape, a value holding a backtick is an error, as is, outside a string,
// anything but a name or number. vars holds the raw values (regular
// expressions for the dashboard's variables); unknown names stay as they
// are, as Grafana leaves them.
func interpolate(expr string, vars map[string]string) (string, error) {
	locs := varRef.FindAllStringSubmatchIndex(expr, -1)
	if len(locs) == 0 {
		return expr, nil
	}
	var b strings.Builder
	last := 0
	quote := byte(0) // the string literal the scan is in
	scanned := 0
	for _, loc := range locs {
		quote = quoteAt(expr, scanned, loc[0], quote)
		scanned = loc[0]
		name := ""
		for g := 1; g <= 3; g++ {
			if loc[2*g] >= 0 {
				name = expr[loc[2*g]:loc[2*g+1]]
			}
		}
		v, ok := vars[name]
		if !ok {
			continue
		}
		esc, err := escapeFor(quote, v)
		if err != nil {
			return "", fmt.Errorf("variable $%s: %v", name, err)
		}
		b.WriteString(expr[last:loc[0]])
		b.WriteString(esc)
		last = loc[1]
	}
	b.WriteString(expr[last:])
	return b.String(), nil
}

// quoteAt carries the string-literal state of expr from index from (in
// state q) to index to.
func quoteAt(expr string, from, to int, q byte) byte {
	for i := from; i < to; i++ {
		c := expr[i]
		switch {
		case q == 0 && (c == '"' || c == '\'' || c == '`'):
			q = c
		case q != 0 && q != '`' && c == '\\':
			i++ // an escaped character
		case q != 0 && c == q:
			q = 0
		}
	}
	return q
}

func escapeFor(quote byte, v string) (string, error) {
	switch quote {
	case '"', '\'':
		r := strings.NewReplacer(`\`, `\\`, string(quote), `\`+string(quote), "\n", `\n`)
		return r.Replace(v), nil
	case '`':
		if strings.Contains(v, "`") {
			return "", fmt.Errorf("a value inside `…` cannot hold a backtick")
		}
		return v, nil
	}
	if !bareValue.MatchString(v) {
		return "", fmt.Errorf("%q outside a string literal: only names and numbers can stand there", v)
	}
	return v, nil
}

// regexValue is the regular expression of selected values for =~: each
// value regexp-quoted, alternated.
func regexValue(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	re := strings.Join(quoted, "|")
	if len(values) > 1 {
		re = "(" + re + ")"
	}
	return re
}

// promString escapes s for the inside of a PromQL double-quoted string.
func promString(s string) string {
	v, _ := escapeFor('"', s)
	return v
}

// builtinVars are Grafana's interval variables for a panel: $__interval
// (the step), $__rate_interval (at least four scrape intervals, and a step
// plus one, so that rate() always has two samples) and $__range.
func builtinVars(step, scrape, rng time.Duration) map[string]string {
	return map[string]string{
		"__interval":      promDuration(step),
		"__rate_interval": promDuration(max(4*scrape, step+scrape)),
		"__range":         promDuration(rng),
	}
}

// promDuration writes d in PromQL's duration syntax, in whole seconds.
func promDuration(d time.Duration) string {
	return fmt.Sprintf("%ds", max(int64(d/time.Second), 1))
}
