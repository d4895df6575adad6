package instr

import (
	"regexp"
	"strings"
	"unicode"
)

// Redacted replaces what ScrubError removes.
const Redacted = "REDACTED"

// maxScrubbed bounds the text ScrubError returns (and reads): a proxy's
// HTML error page has no place on a span.
const maxScrubbed = 4 << 10

var (
	// userinfo in a URL: scheme://user:password@host.
	urlUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]+@`)
	// a URL's query, up to a quote, a space or a fragment.
	urlQuery = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#"']*\?)([^\s#"']*)`)
	// key=value, key: value and "key": "value" where the key names a
	// credential (access_token, x-api-key, password, client_secret, …).
	namedSecret = regexp.MustCompile(`(?i)([\w.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|access[_-]?key|credential)["']?\s*[:=]\s*["']?)([^\s"',;&)}\]]+)`)
	// Authorization schemes followed by their credential.
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})`)
	// API keys and tokens in the providers' formats, wherever they stand.
	keyShape = regexp.MustCompile(`\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|` +
		`glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})`)
)

// ScrubError is err's text without credentials, for a span's status and
// the logs: a URL's userinfo and query values (Go's *url.Error quotes the
// whole URL, and many providers take ?key=), values of keys that name a
// credential, bearer and basic credentials, and API keys in the providers'
// formats. Words are left alone ("token verification failed", "Basic
// authentication", branch names): a value is removed when it looks like a
// secret (a digit, or both cases). The text is otherwise kept, at most
// 4 KiB, so that the status still says what failed.
func ScrubError(err error) string {
	if err == nil {
		return ""
	}
	return Scrub(err.Error())
}

// Scrub is ScrubError for a text.
func Scrub(s string) string {
	if len(s) > maxScrubbed {
		s = s[:maxScrubbed] + "…"
	}
	if strings.Contains(s, "://") {
		s = urlUserinfo.ReplaceAllString(s, "${1}"+Redacted+"@")
		s = urlQuery.ReplaceAllStringFunc(s, scrubQuery)
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "token") || strings.Contains(lower, "secret") || strings.Contains(lower, "pass") ||
		strings.Contains(lower, "key") || strings.Contains(lower, "credential") {
		s = namedSecret.ReplaceAllStringFunc(s, func(m string) string {
			sub := namedSecret.FindStringSubmatch(m)
			if !secretish(sub[2]) {
				return m
			}
			return sub[1] + Redacted
		})
	}
	if strings.Contains(lower, "bearer") || strings.Contains(lower, "basic") {
		s = authScheme.ReplaceAllStringFunc(s, func(m string) string {
			sub := authScheme.FindStringSubmatch(m)
			if !secretish(sub[3]) {
				return m
			}
			return sub[1] + sub[2] + Redacted
		})
	}
	if strings.ContainsAny(s, "-_") || strings.Contains(s, "AIza") || strings.Contains(s, "AKIA") || strings.Contains(s, "eyJ") {
		s = keyShape.ReplaceAllStringFunc(s, func(m string) string {
			if !secretish(m) || strings.HasPrefix(m, "sk-") && !mixed(m) {
				return m // sk-learning-rate-sweep-v2: a branch, not a key
			}
			return Redacted
		})
	}
	return s
}

// scrubQuery replaces each value of a URL's query, keeping punctuation
// that ends the URL in the text (a colon, a parenthesis, a comma).
func scrubQuery(m string) string {
	tail := ""
	for len(m) > 0 && strings.ContainsRune(":),;.]>", rune(m[len(m)-1])) {
		tail = m[len(m)-1:] + tail
		m = m[:len(m)-1]
	}
	base, query, _ := strings.Cut(m, "?")
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + Redacted
		}
	}
	return base + "?" + strings.Join(parts, "&") + tail
}

// secretish reports whether v looks like a credential rather than a word:
// at least 8 characters with a digit, or with both upper and lower case.
func secretish(v string) bool {
	if len(v) < 8 {
		return false
	}
	var digit, upper, lower bool
	for _, r := range v {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		}
	}
	return digit || upper && lower
}

// mixed reports whether v has upper and lower case letters and a digit, as
// the providers' sk- keys do (and lower-case names with dashes do not).
func mixed(v string) bool {
	var digit, upper, lower bool
	for _, r := range v {
		digit = digit || unicode.IsDigit(r)
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
	}
	return digit && upper && lower
}
