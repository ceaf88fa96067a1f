package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/companyapi/companyapi/internal/metrics/metricstest"
)

// dashboardPath is the Grafana dashboard an operator imports.
const dashboardPath = "../../deploy/grafana/companyapi.json"

// dashboardQueries returns every PromQL expression of the dashboard: each
// panel's targets and each templating variable's query.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardPath, err)
	}
	var exprs []string
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels) // a collapsed row holds its panels
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	return exprs
}

type dashPanel struct {
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promLabelVals = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)`)
	promNumbers   = regexp.MustCompile(`(^|[^a-zA-Z0-9_:])\d[0-9a-zA-Z_.]*`) // 0.99, 5m, 1e3
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
)

// promKeywords are PromQL words that are neither functions nor metrics.
var promKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
	"and", "or", "unless", "offset", "inf", "nan"}

// metricNames returns the metric names an expression selects: what is left
// once strings, label matchers, ranges and grouping clauses are gone, and
// that is not a function, a keyword, a number or a duration.
func metricNames(expr string) []string {
	var names []string
	expr = promLabelVals.ReplaceAllStringFunc(expr, func(s string) string {
		names = append(names, promLabelVals.FindStringSubmatch(s)[1])
		return ""
	})
	expr = promStrings.ReplaceAllString(expr, "")
	expr = promMatchers.ReplaceAllString(expr, "")
	expr = promRanges.ReplaceAllString(expr, "")
	expr = promGrouping.ReplaceAllString(expr, "")
	expr = promNumbers.ReplaceAllString(expr, "$1")
	for _, m := range promIdent.FindAllStringSubmatch(expr, -1) {
		if m[1] != "" || slices.Contains(promKeywords, strings.ToLower(m[0])) {
			continue // a function call, or a keyword
		}
		names = append(names, m[0])
	}
	return names
}

// TestMetricNames: the extractor finds exactly the metrics of expressions
// like the dashboard's, or the dashboard test below proves nothing.
func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{instance=~"$instance",code=~"5.."}[$__rate_interval])))`: {"a_seconds_bucket"},
		`sum(rate(b_total{x="y"}[5m])) / sum(rate(c_total[5m]))`:                                                                     {"b_total", "c_total"},
		`max(d) or on (instance) e offset 5m`:                                                                                        {"d", "e"},
		`label_values(f_info, instance)`:                                                                                             {"f_info"},
		`g{quantile="1"} * 2`:                                                                                                        {"g"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %q, want %q", expr, got, want)
		}
	}
}

// checkDashboard fails for each metric the dashboard queries that the
// scrape does not have (a histogram's _bucket, _sum and _count are its
// family's; so are a summary's _sum and _count).
func checkDashboard(t *testing.T, s metricstest.Scrape) {
	t.Helper()
	exprs := dashboardQueries(t)
	seen := map[string]bool{}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("dashboard query %q selects no metric", e)
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	if len(seen) < 20 {
		t.Fatalf("the dashboard queries only %d metrics: %v", len(seen), seen)
	}
	for n := range seen {
		if _, ok := s[n]; ok {
			continue
		}
		found := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, cut := strings.CutSuffix(n, suffix)
			f := s[base]
			if cut && f != nil && (f.GetType() == dto.MetricType_HISTOGRAM ||
				(f.GetType() == dto.MetricType_SUMMARY && suffix != "_bucket")) {
				found = true
			}
		}
		if !found {
			t.Errorf("the dashboard queries %s, which the server does not export", n)
		}
	}
}
