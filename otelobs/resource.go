package otelobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
)

// resourceAccepted is what OTEL_RESOURCE_ATTRIBUTES accepts.
const resourceAccepted = "comma-separated key=value pairs, values URL-encoded"

// buildResource describes the service. Later sources win: the SDK's defaults
// (service.instance.id, telemetry.sdk.*), host and process facts, the
// options, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
//
// A malformed OTEL_RESOURCE_ATTRIBUTES is discarded whole, as the
// specification asks, and returned as a warning (an error with
// cfg.strictEnv); OTEL_SERVICE_NAME still applies.
func buildResource(ctx context.Context, cfg config, logger *slog.Logger) (*resource.Resource, *EnvError, error) {
	// Parse the environment on its own first, so that a malformed value is
	// named rather than a partial resource.
	fromEnv := resource.WithFromEnv()
	var warn *EnvError
	if _, err := resource.New(ctx, resource.WithFromEnv()); err != nil {
		v, _ := cfg.lookup(envResourceAttributes)
		warn = &EnvError{Var: envResourceAttributes, Value: v, Reason: err.Error(),
			Accepted: resourceAccepted}
		if cfg.strictEnv {
			return nil, nil, warn
		}
		fromEnv = resource.WithAttributes()
		if name, ok := cfg.lookup(envServiceName); ok && name != "" {
			fromEnv = resource.WithAttributes(attribute.String("service.name", name))
		}
	}

	// The specification's default when nothing names the service:
	// unknown_service:<executable> (Setup warns about it).
	name := cfg.serviceName
	if name == "" {
		name = "unknown_service"
		if exe, err := os.Executable(); err == nil {
			name += ":" + filepath.Base(exe)
		}
	}
	version := cfg.serviceVersion
	if version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	attrs := []attribute.KeyValue{}
	if name != "" {
		attrs = append(attrs, attribute.String("service.name", name))
	}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	attrs = append(attrs, cfg.attributes...)

	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithService(), // service.instance.id (a random UUID)
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithAttributes(attrs...),
		fromEnv,
	)
	if err != nil {
		if res == nil || !errors.Is(err, resource.ErrPartialResource) {
			return nil, nil, fmt.Errorf("otelobs: build resource: %w", err)
		}
		// A host or process fact that could not be read is not a reason to
		// run without telemetry.
		logger.Warn("otelobs: some resource attributes could not be detected", "error", err)
	}
	return res, warn, nil
}
