package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The metrics scenario: what keeping and serving the metrics costs. Two
// servers on the same database, one without ADMIN_ADDR (no metrics are
// kept at all) and one with it, scraped every second as Prometheus would;
// the pairs ramp finds each one's max sustained rate, alternately (off,
// on, then on, off, ...) so that neither always runs on the larger table
// or the warmer machine.

// MetricsCost is the metrics scenario's result.
type MetricsCost struct {
	Rounds int       `json:"rounds"`
	Off    []float64 `json:"off_max_rates"` // ADMIN_ADDR unset
	On     []float64 `json:"on_max_rates"`  // ADMIN_ADDR set, scraped every second
	// OffMean and OnMean are the ramps' means; DiffPct is how much lower
	// the rate is with the metrics, in percent of the rate without.
	OffMean float64 `json:"off_max_rate"`
	OnMean  float64 `json:"on_max_rate"`
	DiffPct float64 `json:"diff_pct"`
	// The scrapes: how many, how many failed, their mean size and the
	// slowest, and the messages the last one said were committed (proof
	// that the metrics moved under the load).
	Scrapes       int64   `json:"scrapes"`
	ScrapeErrors  int64   `json:"scrape_errors"`
	ScrapeBytes   int64   `json:"scrape_bytes"`
	ScrapeMaxMS   float64 `json:"scrape_max_ms"`
	CommittedSeen float64 `json:"committed_seen"`
}

var adminRE = regexp.MustCompile(`admin on (http://\S+)`)

// metricsScenario runs the ramps against a server without ADMIN_ADDR and
// one with it, cfg.costRounds times each.
func metricsScenario(ctx context.Context, o options, f *fixture, bin string, env []string, res *Result) error {
	off, offBase, err := startServer(ctx, bin, append(env[:len(env):len(env)], "ADMIN_ADDR="))
	if err != nil {
		return err
	}
	defer off.Stop(15 * time.Second) //nolint:errcheck // its exit status says nothing here
	on, onBase, admin, err := startAdminServer(ctx, bin, append(env[:len(env):len(env)], "ADMIN_ADDR=127.0.0.1:0"))
	if err != nil {
		return err
	}
	defer on.Stop(15 * time.Second) //nolint:errcheck // as above
	logf("metrics: without ADMIN_ADDR at %s, with it at %s (scraped at %s/metrics every second)", offBase, onBase, admin)

	cfg := o.pairs
	cfg.Max, cfg.NoSteady, cfg.Bisections, cfg.Precision = true, true, 5, 0.02
	mc := &MetricsCost{Rounds: o.costRounds}
	res.MetricsCost = mc
	sc := &scraper{url: admin + "/metrics"}
	for r := range o.costRounds {
		order := []bool{false, true}
		if r%2 == 1 {
			order = []bool{true, false}
		}
		for _, withAdmin := range order {
			base, name := offBase, "off"
			if withAdmin {
				base, name = onBase, "on"
			}
			logf("metrics: round %d, ADMIN_ADDR %s", r+1, name)
			stop := func() {}
			if withAdmin {
				stop = sc.every(ctx, time.Second)
			}
			pr, err := runPairs(ctx, base, base, f, cfg)
			stop()
			if err != nil {
				return err
			}
			if withAdmin {
				mc.On = append(mc.On, pr.MaxRate)
			} else {
				mc.Off = append(mc.Off, pr.MaxRate)
			}
			logf("metrics: round %d, ADMIN_ADDR %s: max sustained %.0f msgs/s", r+1, name, pr.MaxRate)
		}
	}
	sc.summarise(mc)
	mc.OffMean, mc.OnMean = mean(mc.Off), mean(mc.On)
	if mc.OffMean > 0 {
		mc.DiffPct = (mc.OffMean - mc.OnMean) / mc.OffMean * 100
	}
	return ctx.Err()
}

// startAdminServer is startServer for a server with ADMIN_ADDR: it also
// returns the admin listener's URL, which serve prints first.
func startAdminServer(ctx context.Context, bin string, env []string) (*child, string, string, error) {
	c, err := startChild("server-admin", bin, []string{"serve"}, env)
	if err != nil {
		return nil, "", "", err
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	admin, err := c.Line(lctx, adminRE.MatchString)
	if err == nil {
		var line string
		if line, err = c.Line(lctx, listeningRE.MatchString); err == nil {
			return c, listeningRE.FindStringSubmatch(line)[1], adminRE.FindStringSubmatch(admin)[1], nil
		}
	}
	c.Stop(5 * time.Second) //nolint:errcheck // already failing
	return nil, "", "", err
}

// scraper GETs a /metrics URL as Prometheus would, reading every byte.
type scraper struct {
	url    string
	mu     sync.Mutex
	n      int64
	errs   int64
	bytes  int64
	max    time.Duration
	last   []byte
	client http.Client
}

// every scrapes once a period until stop is called; stop waits for the
// scrape in flight.
func (s *scraper) every(ctx context.Context, period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.once(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (s *scraper) once(ctx context.Context) {
	start := time.Now()
	body, err := s.get(ctx)
	d := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.errs++
			logf("metrics: scrape: %v", err)
		}
		return
	}
	s.n++
	s.bytes += int64(len(body))
	s.max = max(s.max, d)
	s.last = body
}

func (s *scraper) get(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	res, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %d", s.url, res.StatusCode)
	}
	return body, err
}

// summarise fills mc's scrape figures; the last scrape is parsed for the
// messages committed.
func (s *scraper) summarise(mc *MetricsCost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc.Scrapes, mc.ScrapeErrors, mc.ScrapeMaxMS = s.n, s.errs, ms(s.max)
	if s.n > 0 {
		mc.ScrapeBytes = s.bytes / s.n
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(s.last))
	if err != nil {
		logf("metrics: the last scrape does not parse: %v", err)
		return
	}
	if f := fams["companyapi_messages_committed_total"]; f != nil && len(f.GetMetric()) == 1 {
		mc.CommittedSeen = f.GetMetric()[0].GetCounter().GetValue()
	}
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// costRow is the comparison row: the rate with the metrics beside the rate
// without, at most 3 % apart.
func (mc *MetricsCost) costRow() Row {
	row := Row{Figure: "pairs max rate, ADMIN_ADDR scraped 1/s", Value: mc.OnMean, Unit: "msgs/s",
		Floor: mc.OffMean, Ratio: ratio(mc.OnMean, mc.OffMean), Target: "≤3 % from ADMIN_ADDR unset"}
	row.Met = met(mc.OffMean > 0 && math.Abs(mc.DiffPct) <= 3 && mc.ScrapeErrors == 0)
	return row
}
