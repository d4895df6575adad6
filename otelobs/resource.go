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

// buildResource describes the service. Later sources win: the SDK's defaults
// (service.instance.id, telemetry.sdk.*), host and process facts, the
// options, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
func buildResource(ctx context.Context, cfg config, logger *slog.Logger) (*resource.Resource, error) {
	// Parse the environment on its own first, so that a malformed value is an
	// error naming the variable rather than a partial resource.
	if _, err := resource.New(ctx, resource.WithFromEnv()); err != nil {
		v, _ := cfg.lookup(envResourceAttributes)
		return nil, &EnvError{Var: envResourceAttributes, Value: v, Reason: err.Error(),
			Accepted: "comma-separated key=value pairs, values URL-encoded"}
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
		resource.WithFromEnv(),
	)
	if err != nil {
		if res == nil || !errors.Is(err, resource.ErrPartialResource) {
			return nil, fmt.Errorf("otelobs: build resource: %w", err)
		}
		// A host or process fact that could not be read is not a reason to
		// run without telemetry.
		logger.Warn("otelobs: some resource attributes could not be detected", "error", err)
	}
	return res, nil
}
