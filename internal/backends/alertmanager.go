package backends

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	*Process
	// URL is its base URL, http://127.0.0.1:PORT.
	URL string
}

// StartAlertmanager starts Alertmanager with the given configuration, without
// clustering, and waits until it is ready.
func StartAlertmanager(t testing.TB, configYAML string) *Alertmanager {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	var am *Alertmanager
	startRetrying(t, "alertmanager", func() (*Process, error) {
		port := FreePort(t)
		p := Start(t, "alertmanager", dir, Bin(t, "alertmanager"), nil,
			"--config.file="+conf,
			"--storage.path="+filepath.Join(dir, "data"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
			"--cluster.listen-address=",
		)
		am = &Alertmanager{Process: p, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
		return p, p.waitReady(am.URL+"/-/ready", 30*time.Second)
	})
	return am
}
