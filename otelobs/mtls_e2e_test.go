//go:build e2e

package otelobs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/otelobs"
)

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as PEM files.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otelobs test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (string, string) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p := pki{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// mtlsCollectorConfig is a Collector whose OTLP receivers demand a client
// certificate signed by the test CA, forwarding traces to Jaeger.
const mtlsCollectorConfig = `
extensions:
  health_check:
    endpoint: ${env:OTELCOL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:OTELCOL_OTLP_GRPC_ENDPOINT}
        tls:
          cert_file: ${env:TLS_CERT}
          key_file: ${env:TLS_KEY}
          client_ca_file: ${env:TLS_CA}
      http:
        endpoint: ${env:OTELCOL_OTLP_HTTP_ENDPOINT}
        tls:
          cert_file: ${env:TLS_CERT}
          key_file: ${env:TLS_KEY}
          client_ca_file: ${env:TLS_CA}
exporters:
  otlp_grpc/jaeger:
    endpoint: ${env:JAEGER_OTLP_ENDPOINT}
    tls:
      insecure: true
service:
  extensions: [health_check]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: ${env:OTELCOL_METRICS_HOST}
                port: ${env:OTELCOL_METRICS_PORT}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc/jaeger]
`

// TestE2EClientCertificateLevels: against a Collector that requires a
// client certificate, a pair given per signal or generically is sent and the
// span arrives; half a pair at each level (the signal's certificate with the
// generic key) is refused by Setup under WithStrictEnv, and without it the
// exporter indeed sends no certificate and the export fails: the check
// matches what the exporters do.
func TestE2EClientCertificateLevels(t *testing.T) {
	p := newPKI(t)
	jaeger := backends.StartJaeger(t)
	cfgPath := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(cfgPath, []byte(mtlsCollectorConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	col := backends.StartCollectorAnyPorts(t, cfgPath, "TLS_CERT="+p.serverCert, "TLS_KEY="+p.serverKey, "TLS_CA="+p.ca,
		"JAEGER_OTLP_ENDPOINT="+jaeger.OTLPGRPC)
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		endpoint := strings.Replace(col.HTTPEndpoint, "http://", "https://", 1)
		if protocol == "grpc" {
			endpoint = strings.Replace(col.GRPCEndpoint, "http://", "https://", 1)
		}
		base := map[string]string{
			"OTEL_SERVICE_NAME":                  "e2e-mtls",
			"OTEL_METRICS_EXPORTER":              "none",
			"OTEL_TRACES_EXPORTER":               "otlp",
			"OTEL_EXPORTER_OTLP_PROTOCOL":        protocol,
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint + map[bool]string{true: "/v1/traces"}[protocol != "grpc"],
			"OTEL_EXPORTER_OTLP_CERTIFICATE":     p.ca,
		}
		with := func(kv ...string) map[string]string {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for i := 0; i < len(kv); i += 2 {
				env[kv[i]] = kv[i+1]
			}
			return env
		}
		name := strings.ReplaceAll(protocol, "/", "_")
		for _, tc := range []struct {
			level string
			env   map[string]string
		}{
			{"per signal", with("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", p.clientCert, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", p.clientKey)},
			{"generic", with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", p.clientCert, "OTEL_EXPORTER_OTLP_CLIENT_KEY", p.clientKey)},
		} {
			t.Run(name+"/"+tc.level, func(t *testing.T) {
				tel := backends.SetupTelemetry(t, tc.env)
				_, span := tel.TracerProvider().Tracer("e2e").Start(t.Context(), "mtls")
				span.End()
				fctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				if err := tel.ForceFlush(fctx); err != nil {
					t.Fatalf("ForceFlush with a client certificate (%s): %v", tc.level, err)
				}
				jaeger.WaitForTrace(t, span.SpanContext().TraceID().String(), "mtls")
			})
		}
		t.Run(name+"/half a pair at each level", func(t *testing.T) {
			env := with("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", p.clientCert, "OTEL_EXPORTER_OTLP_CLIENT_KEY", p.clientKey)
			backends.CleanEnv(t, env)
			_, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals(), otelobs.WithStrictEnv())
			var envErr *otelobs.EnvError
			if !errors.As(err, &envErr) || !strings.Contains(err.Error(), "half a pair") {
				t.Fatalf("strict Setup = %v, want the half pair refused", err)
			}
			tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tel.Shutdown(context.Background()) }()
			_, span := tel.TracerProvider().Tracer("e2e").Start(t.Context(), "mtls-half")
			span.End()
			fctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			err = tel.ForceFlush(fctx)
			if err == nil {
				t.Fatal("the export succeeded without a client certificate pair at one level: the exporters use it after all, so Setup's check is wrong")
			}
			t.Logf("as expected, the export failed: %v", err)
			if _, jerr := jaeger.TraceSpans(t.Context(), span.SpanContext().TraceID().String()); !errors.Is(jerr, backends.ErrNotFound) {
				t.Errorf("Jaeger lookup = %v, want not found", jerr)
			}
		})
	}
}
