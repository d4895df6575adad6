package otelobs

import (
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
)

// oneExemplar keeps one exemplar per series and collection.
func oneExemplar(sdkmetric.Aggregation) exemplar.ReservoirProvider {
	return exemplar.FixedSizeReservoirProvider(1)
}

// sumReservoirView gives counters and up-down counters a one-slot exemplar
// reservoir. The SDK's default is GOMAXPROCS slots allocated up front for
// every series, which makes an OTel counter series cost more memory than a
// client_golang one; Prometheus keeps at most one exemplar per counter sample
// anyway. Histograms keep the default reservoir (one exemplar per bucket).
// Instruments that one of the application's own views (WithView) matches are
// left to that view.
func sumReservoirView(user []sdkmetric.View) sdkmetric.View {
	return func(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		switch inst.Kind {
		case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter:
		default:
			return sdkmetric.Stream{}, false
		}
		for _, v := range user {
			if _, ok := v(inst); ok {
				return sdkmetric.Stream{}, false
			}
		}
		return sdkmetric.Stream{
			Name:                              inst.Name,
			Description:                       inst.Description,
			Unit:                              inst.Unit,
			ExemplarReservoirProviderSelector: oneExemplar,
		}, true
	}
}
