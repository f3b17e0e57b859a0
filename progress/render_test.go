package progress

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderers' output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the renderer's output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestRenderersGolden(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		sum    *Summary
		newR   func(*bytes.Buffer) Renderer
	}{
		{"plain.golden", script(), summary, func(b *bytes.Buffer) Renderer { return NewPlain(b) }},
		{"plain-timestamps.golden", script(), summary, func(b *bytes.Buffer) Renderer {
			p := NewPlain(b)
			p.Timestamps = true
			return p
		}},
		{"plain-failed.golden", failScript(), nil, func(b *bytes.Buffer) Renderer { return NewPlain(b) }},
		{"json.golden", script(), summary, func(b *bytes.Buffer) Renderer {
			j := NewJSON(b)
			j.now = func() time.Time { return at(3500) }
			return j
		}},
		{"json-failed.golden", failScript(), nil, func(b *bytes.Buffer) Renderer { return NewJSON(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := tt.newR(&buf)
			for _, e := range tt.events {
				r.Emit(e)
			}
			if err := r.Close(tt.sum); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestBufferedKeepsOrderAndFlushes(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{{"none", 0}, {"one", 1}, {"burst", 10000}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			block := make(chan struct{})
			b := NewBuffered(SinkFunc(func(e Event) {
				<-block // a renderer that is stuck until every Emit returned
				got = append(got, e.ID)
			}))
			for i := range tt.n {
				b.Emit(Event{Kind: StepOutput, ID: i})
			}
			close(block)
			b.Close()
			b.Close()
			b.Emit(Event{ID: -1}) // after Close: dropped
			if len(got) != tt.n {
				t.Fatalf("delivered %d events, want %d", len(got), tt.n)
			}
			for i, id := range got {
				if id != i {
					t.Fatalf("event %d has ID %d: order lost", i, id)
				}
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	tests := []struct {
		name               string
		events             []Event
		failed             int
		output             []string
		wantDone, wantCach int
	}{
		{"success", script(), 0, nil, 3, 1},
		{"failure", failScript(), 1, []string{"about to fail"}, 0, 0},
		{"fails before start", []Event{{Kind: StepFailed, ID: 7, Error: "no such file"}}, 1, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder()
			for _, e := range tt.events {
				r.Emit(e)
			}
			f := r.Failed()
			if len(f) != tt.failed {
				t.Fatalf("Failed() = %d steps, want %d", len(f), tt.failed)
			}
			if tt.failed > 0 {
				if f[0].Event.Kind != StepFailed || f[0].Event.Error == "" {
					t.Errorf("failed step event = %+v", f[0].Event)
				}
				if len(f[0].Output) != len(tt.output) || (len(tt.output) > 0 && f[0].Output[0] != tt.output[0]) {
					t.Errorf("output = %q, want %q", f[0].Output, tt.output)
				}
			}
			if d, c := r.Counts(); d != tt.wantDone || c != tt.wantCach {
				t.Errorf("Counts() = %d, %d; want %d, %d", d, c, tt.wantDone, tt.wantCach)
			}
		})
	}
}

func TestHumanUnits(t *testing.T) {
	tests := []struct {
		n    int64
		d    time.Duration
		size string
		dur  string
	}{
		{0, 0, "0 B", "0.0s"},
		{1023, 450 * time.Millisecond, "1023 B", "0.5s"},
		{1536, 59 * time.Second, "1.5 KiB", "59.0s"},
		{5 << 20, 125 * time.Second, "5.0 MiB", "2m05s"},
		{3 << 30, time.Hour, "3.0 GiB", "60m00s"},
	}
	for _, tt := range tests {
		if got := HumanSize(tt.n); got != tt.size {
			t.Errorf("HumanSize(%d) = %q, want %q", tt.n, got, tt.size)
		}
		if got := FormatDuration(tt.d); got != tt.dur {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.dur)
		}
	}
}
