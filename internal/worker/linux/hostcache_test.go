//go:build linux

package linux

import (
	"encoding/json"
	"os"
	"testing"
)

// A passed host check is recorded and reused; a record that no longer
// matches the host (another kernel) is ignored and rewritten.
func TestHostCheckRecorded(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(hostCheckPath(root))
	if err != nil {
		t.Fatalf("no host check record: %v", err)
	}
	var rec hostCheck
	if err := json.Unmarshal(data, &rec); err != nil || rec.Kernel == "" || rec.Version == "" {
		t.Fatalf("record %s: %v", data, err)
	}
	if _, ok := cachedRuntime(root, ""); !ok {
		t.Fatal("a fresh record is not reused")
	}
	rec.Kernel = "0.0.0-other"
	stale, _ := json.Marshal(rec)
	os.WriteFile(hostCheckPath(root), stale, 0o600)
	if _, ok := cachedRuntime(root, ""); ok {
		t.Fatal("a record for another kernel was reused")
	}
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	if _, ok := cachedRuntime(root, ""); !ok {
		t.Fatal("New did not record the host again")
	}
}
