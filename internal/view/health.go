package view

import (
	"context"
	"net/http"
	"slices"
	"strings"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// healthView is the health page's model.
type healthView struct {
	Prometheus, Jaeger string
	PromError          string
	Version            string
	ExemplarStorage    bool
	FlagsError         string
	Targets            []v1.ActiveTarget
	TargetsUp          int
	TargetsError       string
	JaegerError        string
	Services           []string
	Notes              []string
}

func (s *Server) health(ctx context.Context) *healthView {
	h := &healthView{Prometheus: s.prom.display, Jaeger: s.jaeger.display, Notes: s.dash.Check()}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Services, h.JaegerError = nil, ""
		svc, err := s.jaeger.services(ctx)
		if err != nil {
			h.JaegerError = err.Error()
		}
		h.Services = svc
	}()
	if bi, err := s.prom.api.Buildinfo(ctx); err != nil {
		h.PromError = promError(s.prom.display, err).Error()
	} else {
		h.Version = bi.Version
		if flags, err := s.prom.api.Flags(ctx); err != nil {
			h.FlagsError = promError(s.prom.display, err).Error()
		} else {
			h.ExemplarStorage = slices.Contains(strings.Split(flags["enable-feature"], ","), "exemplar-storage")
		}
		if t, err := s.prom.api.Targets(ctx); err != nil {
			h.TargetsError = promError(s.prom.display, err).Error()
		} else {
			h.Targets = t.Active
			for _, a := range t.Active {
				if a.Health == v1.HealthGood {
					h.TargetsUp++
				}
			}
		}
	}
	<-done
	return h
}

func (s *Server) healthPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "health.html", s.health(r.Context()))
}

func (s *Server) healthFragment(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "healthstrip.html", s.health(r.Context()))
}
