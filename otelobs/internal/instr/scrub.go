package instr

import (
	"regexp"
	"strings"
)

// Redacted replaces what ScrubError removes.
const Redacted = "REDACTED"

var (
	// userinfo in a URL: scheme://user:password@host.
	urlUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]+@`)
	// a URL's query: every value goes (?key=…, &token=…).
	urlQuery = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#"']*\?)([^\s#"']*)`)
	// Authorization-style credentials in text.
	bearer = regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+|=|:\s*)[A-Za-z0-9._~+/=-]{8,}`)
	// API keys in the providers' formats (sk-…, sk-ant-…, AIza…, ghp_…,
	// xoxb-…), wherever they stand.
	apiKey = regexp.MustCompile(`\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})`)
)

// ScrubError is err's text without credentials, for a span's status (and
// anything else exported): a URL's userinfo and query values (Go's
// *url.Error quotes the whole URL, and many providers take ?key=),
// bearer and basic tokens, and API keys in the providers' formats. The
// text is otherwise kept, so that the status still says what failed.
func ScrubError(err error) string {
	if err == nil {
		return ""
	}
	return Scrub(err.Error())
}

// Scrub is ScrubError for a text.
func Scrub(s string) string {
	if !strings.Contains(s, "://") && !strings.ContainsAny(s, "-_") && !strings.Contains(strings.ToLower(s), "bearer") &&
		!strings.Contains(strings.ToLower(s), "basic") && !strings.Contains(strings.ToLower(s), "token") && !strings.Contains(s, "AIza") {
		return s // nothing to look for: the common case costs no regexp
	}
	s = urlUserinfo.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = urlQuery.ReplaceAllStringFunc(s, func(m string) string {
		base, query, _ := strings.Cut(m, "?")
		parts := strings.Split(query, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=" + Redacted
			}
		}
		return base + "?" + strings.Join(parts, "&")
	})
	s = bearer.ReplaceAllString(s, "${1}${2}"+Redacted)
	return apiKey.ReplaceAllString(s, Redacted)
}
