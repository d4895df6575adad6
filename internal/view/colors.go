package view

import (
	"regexp"
	"strconv"
	"strings"
)

// namedColors are Grafana's colour names the dashboards use, with its
// shades.
var namedColors = map[string]string{
	"green": "#73BF69", "dark-green": "#37872D", "semi-dark-green": "#56A64B", "light-green": "#96D98D",
	"yellow": "#FADE2A", "dark-yellow": "#E0B400", "semi-dark-yellow": "#F2CC0C", "light-yellow": "#FFEE52",
	"red": "#F2495C", "dark-red": "#C4162A", "semi-dark-red": "#E02F44", "light-red": "#FF7383",
	"orange": "#FF9830", "dark-orange": "#FA6400", "semi-dark-orange": "#FF780A", "light-orange": "#FFB357",
	"blue": "#5794F2", "dark-blue": "#1F60C4", "semi-dark-blue": "#3274D9", "light-blue": "#8AB8FF",
	"purple": "#B877D9", "dark-purple": "#8F3BB8", "semi-dark-purple": "#A352CC", "light-purple": "#CA95E5",
	"text": "#CCCCDC", "transparent": "transparent",
}

// classicPalette is Grafana's "palette-classic", in order.
var classicPalette = []string{
	"#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
	"#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477",
}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)

// cssColor maps a dashboard colour (a Grafana name or #hex) to a CSS colour;
// anything else, which would be a dashboard's mistake, is grey.
func cssColor(c string) string {
	c = strings.TrimSpace(c)
	if v, ok := namedColors[c]; ok {
		return v
	}
	if hexColor.MatchString(c) {
		return c
	}
	if rgb := rgbColor(c); rgb != "" {
		return rgb
	}
	return "#8E8E8E"
}

var rgbRE = regexp.MustCompile(`^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([01](?:\.\d+)?)\s*)?\)$`)

// rgbColor accepts rgb(r, g, b) and rgba(r, g, b, a) with in-range numbers.
func rgbColor(c string) string {
	m := rgbRE.FindStringSubmatch(c)
	if m == nil {
		return ""
	}
	for _, s := range m[1:4] {
		if n, _ := strconv.Atoi(s); n > 255 {
			return ""
		}
	}
	return c
}

// thresholdColor is the colour of the highest step whose value v reaches.
func thresholdColor(steps []ThresholdStep, v float64) string {
	color := ""
	for _, s := range steps {
		if s.Value == nil || v >= *s.Value {
			color = s.Color
		}
	}
	if color == "" {
		return classicPalette[0]
	}
	return cssColor(color)
}
