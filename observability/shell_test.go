package observability

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// portability are the constructs of bash 4 and later, and the GNU-only
// tools and flags, that macOS (bash 3.2, BSD userland) lacks, each with why.
var portability = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\b(declare|local|typeset|readonly)\s+-[a-zA-Z]*A`), "associative arrays are bash 4"},
	{regexp.MustCompile(`\b(declare|local|typeset)\s+-[a-zA-Z]*[nlug]`), "declare -n, -l, -u and -g are bash 4"},
	{regexp.MustCompile(`\b(mapfile|readarray|coproc)\b`), "mapfile, readarray and coproc are bash 4"},
	{regexp.MustCompile(`\$\{[#!]?[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?(\^|,)`), "case modification (${x,,}, ${x^^}) is bash 4"},
	{regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?@[A-Za-z]\}`), "${x@Q} and the other transformations are bash 4.4"},
	{regexp.MustCompile(`\|&`), "|& is bash 4: write 2>&1 |"},
	{regexp.MustCompile(`&>>`), "&>> is bash 4"},
	{regexp.MustCompile(`;;&|;&`), "case fall-through (;& and ;;&) is bash 4"},
	{regexp.MustCompile(`(\[\[|\[|\btest)\s+-v\s`), "-v is bash 4.2"},
	{regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\[-[0-9]`), "negative subscripts are bash 4.3"},
	{regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:[^}:]*:\s*-`), "a negative substring length is bash 4.2"},
	{regexp.MustCompile(`\b(BASHPID|EPOCHSECONDS|EPOCHREALTIME|BASH_ARGV0|SRANDOM)\b`), "a variable of bash 4 or later"},
	{regexp.MustCompile(`\bshopt\s+-s\s+(globstar|lastpipe|autocd|checkjobs|direxpand|dirspell|globasciiranges|inherit_errexit|localvar_inherit|localvar_unset|assoc_expand_once)\b`), "a shopt of bash 4 or later"},
	{regexp.MustCompile(`\bwait\s+-[nfp]`), "wait -n, -f and -p are bash 4.3 and later"},
	{regexp.MustCompile(`%\([^)]*\)T`), "printf's %(…)T is bash 4.2"},
	{regexp.MustCompile(`\bread\s+(-[a-zA-Z]+\s+)*-[a-zA-Z]*[iN]`), "read -i and -N are bash 4"},
	{regexp.MustCompile(`\{[0-9]+\.\.[0-9]+\.\.-?[0-9]+\}|\{0[0-9]+\.\.[0-9]+\}`), "brace steps and zero padding are bash 4"},
	{regexp.MustCompile(`\{[A-Za-z_][A-Za-z0-9_]*\}[<>]`), "{var}> (allocated descriptors) is bash 4.1"},
	{regexp.MustCompile(`\bsed\s+(-[a-zA-Z]+\s+)*-[a-zA-Z]*[ir]|\bsed\s+--`), "sed -i and -r are GNU's (BSD sed: -E, and a file to write to)"},
	{regexp.MustCompile(`\bgrep\s+(-[a-zA-Z]+\s+)*-[a-zA-Z]*P`), "grep -P is GNU's"},
	{regexp.MustCompile(`\breadlink\s+-f\b|\brealpath\b`), "readlink -f and realpath are missing on older macOS: cd and pwd"},
	{regexp.MustCompile(`\bstat\s+-c\b|\bdate\s+-d\b|-printf\b|\bxargs\s+-r\b|\bbase64\s+-w\b`), "a GNU-only flag"},
	{regexp.MustCompile(`\b(timeout|nproc|tac|sha256sum|md5sum|getopt)\s`), "a GNU or util-linux tool macOS lacks"},
	{regexp.MustCompile(`(^\s*|[|;&(]\s*|\$\()(seq|sort|tail|head|ls|cp|mv|rm|mkdir|ln|chmod|sed|grep|kill|ps|cat|tr|env|sleep)(\s[^|;&]*)?\s--[a-z]`), "long options are GNU's"},
}

// unguarded finds array expansions ("${a[@]}", ${a[*]}, ${!a[@]}) that
// bash 3.2 with set -u refuses when the array is empty ("unbound
// variable"): they must be written ${a[@]+"${a[@]}"}, unless the array
// cannot be empty there (allowed, with the reason).
var (
	guardedArray = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]\+"?\$\{([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]\}"?\}`)
	arrayLength  = regexp.MustCompile(`\$\{#[A-Za-z_][A-Za-z0-9_]*\[[@*]\]\}`)
	arrayAll     = regexp.MustCompile(`\$\{!?([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]`)
)

// bash32Problems returns what in script (one line a problem) would not run
// on macOS: bash 3.2 and BSD tools. allowed names the arrays that script
// never expands empty. Comment lines are not read.
func bash32Problems(script string, allowed map[string]string) []string {
	var problems []string
	setsid := false
	for i, line := range strings.Split(script, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") {
			continue
		}
		for _, r := range portability {
			if m := r.re.FindString(line); m != "" {
				problems = append(problems, fmt.Sprintf("line %d: %q: %s", i+1, m, r.why))
			}
		}
		rest := guardedArray.ReplaceAllStringFunc(line, func(m string) string {
			if g := guardedArray.FindStringSubmatch(m); g[1] == g[2] {
				return ""
			}
			return m
		})
		rest = arrayLength.ReplaceAllString(rest, "")
		for _, m := range arrayAll.FindAllStringSubmatch(rest, -1) {
			if _, ok := allowed[m[1]]; !ok {
				problems = append(problems, fmt.Sprintf("line %d: %q: with set -u, bash 3.2 stops at an empty array: write ${%s[@]+\"${%s[@]}\"}", i+1, m[0], m[1], m[1]))
			}
		}
		setsid = setsid || regexp.MustCompile(`\bcommand -v setsid\b`).MatchString(line)
		if regexp.MustCompile(`\bsetsid\s+"?\$`).MatchString(line) && !setsid {
			problems = append(problems, fmt.Sprintf("line %d: setsid without a command -v setsid before it: macOS has none", i+1))
		}
	}
	return problems
}

// TestScriptsRunOnBash32: configure.sh and run-local.sh use nothing that
// macOS's bash 3.2 and BSD tools lack (there is no bash 3.2 to run them
// with here, nor in Debian's archive). The check itself catches each
// construct it knows of.
func TestScriptsRunOnBash32(t *testing.T) {
	allowed := map[string]map[string]string{
		"configure.sh": {
			"defaults": "a literal list of every setting",
			"names":    "one name for each of defaults",
			"targets":  "the output part runs only once API_HOST named at least one target",
		},
		"run-local.sh": {},
	}
	for script, arrays := range allowed {
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range bash32Problems(string(b), arrays) {
			t.Errorf("%s: %s", script, p)
		}
	}
	for _, bad := range []string{
		"declare -A cfg=([a]=1)", "local -n ref=x", "declare -l low", "mapfile -t lines <f", "readarray x",
		"echo ${x,,}", "echo ${x^^}", "echo ${a[1]^}", "echo ${x@Q}", "cmd |& tee", "cmd &>>log",
		"  a) echo ;;&", "[[ -v x ]]", "echo ${a[-1]}", "echo ${x:0:-1}", "echo $BASHPID", "shopt -s globstar",
		"wait -n", "printf '%(%s)T' -1", "read -r -i x y", "echo {1..10..2}", "echo {01..10}", "exec {fd}>f",
		"sed -i 's/a/b/' f", "sed -E -i s/a/b/ f", "sed -r s/a/b/", "grep -P x", "readlink -f .", "realpath .",
		"stat -c %a f", "date -d now", "find . -printf x", "timeout 5 cmd", "x=$(nproc )", "tail --lines=5 f",
		`for a in "${arr[@]}"; do :; done`, `echo ${arr[*]}`, `echo ${!arr[@]}`,
		`env setsid "$@" &`,
	} {
		if p := bash32Problems(bad, nil); len(p) == 0 {
			t.Errorf("%q is not caught", bad)
		}
	}
	for _, good := range []string{
		`for a in ${arr[@]+"${arr[@]}"}; do :; done`, `n=${#arr[@]}`, "read -ra hosts <<<x", "sed -E 's/a/b/' f",
		"echo ${x%%=*} ${x#*,} ${x:0:1}", `printf -v "$name" '%d' 1`, "errors+=(x)", "mkdir -p d",
		"if command -v setsid >/dev/null; then\n setsid \"$@\" &\nfi", "# declare -A in a comment",
	} {
		if p := bash32Problems(good, nil); len(p) != 0 {
			t.Errorf("%q: caught wrongly: %v", good, p)
		}
	}
}
