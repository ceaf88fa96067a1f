// Package metricstest reads metrics the way Prometheus does, for tests: a
// scrape of the text format parsed with expfmt, and the value of one
// series in it.
package metricstest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/companyapi/companyapi/internal/metrics"
)

// Scrape is one parsed scrape: metric families by name.
type Scrape map[string]*dto.MetricFamily

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// Get scrapes m's handler as Prometheus would (Accept: text/plain).
func Get(tb testing.TB, m *metrics.Metrics) Scrape {
	tb.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	s, err := Parse(rec.Body)
	if err != nil {
		tb.Fatalf("scrape does not parse: %v", err)
	}
	return s
}

// URL scrapes a /metrics URL.
func URL(tb testing.TB, url string) Scrape {
	tb.Helper()
	res, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		tb.Fatalf("scrape %s: %d %s", url, res.StatusCode, b)
	}
	s, err := Parse(res.Body)
	if err != nil {
		tb.Fatalf("scrape of %s does not parse: %v", url, err)
	}
	return s
}

// Value is the series of family name whose labels include labels (given
// as "name", "value" pairs): a counter's or gauge's value, a histogram's
// count. It is 0 for a series that does not exist, and fails the test if
// the family does not.
func (s Scrape) Value(tb testing.TB, name string, labels ...string) float64 {
	tb.Helper()
	f, ok := s[name]
	if !ok {
		tb.Fatalf("no metric %s in the scrape; have %s", name, strings.Join(s.Names(), ", "))
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// Has reports whether family name has a series whose labels include
// labels, whatever its value.
func (s Scrape) Has(name string, labels ...string) bool {
	for _, m := range s[name].GetMetric() {
		if hasLabels(m, labels) {
			return true
		}
	}
	return false
}

// Sum is a histogram's sum of observations over the matching series.
func (s Scrape) Sum(tb testing.TB, name string, labels ...string) float64 {
	tb.Helper()
	f, ok := s[name]
	if !ok || f.GetType() != dto.MetricType_HISTOGRAM {
		tb.Fatalf("no histogram %s in the scrape", name)
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			sum += m.Histogram.GetSampleSum()
		}
	}
	return sum
}

// Names lists the families, sorted.
func (s Scrape) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func hasLabels(m *dto.Metric, labels []string) bool {
	if len(labels)%2 != 0 {
		panic(fmt.Sprintf("metricstest: labels %q are not name, value pairs", labels))
	}
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
