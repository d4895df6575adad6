package view

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatValue renders v in a Grafana unit: s (and ms), currencyUSD, reqps,
// ops, percent, percentunit, bytes, short or none, and the custom forms
// "suffix:<text>" and "prefix:<text>". An unknown unit is written after the
// number.
func FormatValue(v float64, unit string, decimals *int) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "+Inf"
		}
		return "-Inf"
	}
	num := func(x float64) string { return formatNumber(x, decimals) }
	switch {
	case unit == "s":
		return formatSeconds(v, decimals)
	case unit == "ms":
		return formatSeconds(v/1000, decimals)
	case unit == "currencyUSD":
		if v < 0 {
			return "-$" + formatMoney(-v, decimals)
		}
		return "$" + formatMoney(v, decimals)
	case unit == "reqps":
		return short(v, decimals) + " req/s"
	case unit == "ops":
		return short(v, decimals) + " ops/s"
	case unit == "percent":
		return num(v) + "%"
	case unit == "percentunit":
		return num(v*100) + "%"
	case unit == "bytes":
		return formatBytes(v, decimals)
	case unit == "", unit == "short", unit == "none":
		return short(v, decimals)
	case strings.HasPrefix(unit, "suffix:"):
		return short(v, decimals) + strings.TrimPrefix(unit, "suffix:")
	case strings.HasPrefix(unit, "prefix:"):
		return strings.TrimPrefix(unit, "prefix:") + short(v, decimals)
	}
	return short(v, decimals) + " " + unit
}

// formatNumber writes x with the given decimals, or with up to 3
// significant decimals.
func formatNumber(x float64, decimals *int) string {
	if decimals != nil {
		return strconv.FormatFloat(x, 'f', *decimals, 64)
	}
	ax := math.Abs(x)
	switch {
	case ax == 0:
		return "0"
	case ax >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case ax >= 10:
		return trimZeros(strconv.FormatFloat(x, 'f', 1, 64))
	case ax >= 1:
		return trimZeros(strconv.FormatFloat(x, 'f', 2, 64))
	case ax >= 0.001:
		return trimZeros(strconv.FormatFloat(x, 'f', 3, 64))
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// roundSig rounds x to three significant digits, so that the unit is
// chosen for the number shown (999.7 is "1 K", not "1000").
func roundSig(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// short is Grafana's "short": K, Mil, Bil above a thousand.
func short(v float64, decimals *int) string {
	av := math.Abs(roundSig(v))
	for _, s := range []struct {
		div    float64
		suffix string
	}{{1e12, " Tri"}, {1e9, " Bil"}, {1e6, " Mil"}, {1e3, " K"}} {
		if av >= s.div {
			return formatNumber(v/s.div, decimals) + s.suffix
		}
	}
	return formatNumber(v, decimals)
}

func formatMoney(v float64, decimals *int) string {
	if decimals != nil {
		return strconv.FormatFloat(v, 'f', *decimals, 64)
	}
	switch {
	case v == 0:
		return "0"
	case v < 0.01:
		return trimZeros(strconv.FormatFloat(v, 'f', 4, 64))
	case v >= 1000:
		return short(v, nil)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func formatSeconds(v float64, decimals *int) string {
	av := math.Abs(roundSig(v))
	switch {
	case av == 0:
		return "0 s"
	case av < 1e-3:
		return formatNumber(v*1e6, decimals) + " µs"
	case av < 1:
		return formatNumber(v*1e3, decimals) + " ms"
	case av < 60:
		return formatNumber(v, decimals) + " s"
	case av < 3600:
		return formatNumber(v/60, decimals) + " min"
	case av < 86400:
		return formatNumber(v/3600, decimals) + " hour"
	}
	return formatNumber(v/86400, decimals) + " day"
}

func formatBytes(v float64, decimals *int) string {
	av := math.Abs(roundSig(v))
	for _, s := range []struct {
		div    float64
		suffix string
	}{{1 << 40, " TiB"}, {1 << 30, " GiB"}, {1 << 20, " MiB"}, {1 << 10, " KiB"}} {
		if av >= s.div {
			return formatNumber(v/s.div, decimals) + s.suffix
		}
	}
	return formatNumber(v, decimals) + " B"
}

// FormatDuration renders a span's duration compactly (µs to min).
func FormatDuration(d time.Duration) string {
	return formatSeconds(d.Seconds(), nil)
}

// niceSteps are the candidate query steps, as Grafana rounds intervals.
var niceSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Step is the query_range step for a time range drawn across widthPx
// pixels: at most one point per pixel (Grafana's maxDataPoints is the
// panel's width), never under minStep (the scrape interval), rounded up to
// a whole interval.
func Step(rng time.Duration, widthPx int, minStep time.Duration) time.Duration {
	if widthPx < 50 {
		widthPx = 50
	}
	raw := rng / time.Duration(widthPx)
	if raw < minStep {
		raw = minStep
	}
	for _, s := range niceSteps {
		if s >= raw {
			return s
		}
	}
	return raw.Round(time.Hour)
}

// parseTime reads a Grafana time: "now", "now-1h" (s, m, h, d, w units) or
// Unix milliseconds.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if rest, ok := strings.CutPrefix(s, "now-"); ok {
		d, err := parseGrafanaDuration(rest)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %v", s, err)
		}
		return now.Add(-d), nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, fmt.Errorf("time %q: want now, now-<duration> (5m, 1h, 2d) or Unix milliseconds", s)
	}
	return time.UnixMilli(ms), nil
}

// parseGrafanaDuration reads "30s", "5m", "1h", "2d", "1w".
func parseGrafanaDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("duration %q: want a number and s, m, h, d or w", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("duration %q: want a positive whole number and s, m, h, d or w", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("duration %q: want a number and s, m, h, d or w", s)
	}
	if n > 1e6 || time.Duration(n)*unit > 366*24*time.Hour {
		return 0, fmt.Errorf("duration %q: at most a year", s)
	}
	return time.Duration(n) * unit, nil
}
