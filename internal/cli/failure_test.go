package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

func TestExcerpt(t *testing.T) {
	src := []byte("FROM busybox\r\nWORKDIR /src\nCOPY . .\nRUN make \\\n    all\nRUN test\nCMD [\"app\"]\n")
	tests := []struct {
		name string
		pos  plan.Pos
		want string
	}{
		{"middle", plan.Pos{File: "Dockerfile", Line: 3}, `Dockerfile:3
--------------------
   1 |     FROM busybox
   2 |     WORKDIR /src
   3 | >>> COPY . .
   4 |     RUN make \
   5 |         all
   6 |     RUN test
--------------------
`},
		{"continued lines", plan.Pos{File: "Dockerfile", Line: 4, EndLine: 5}, `Dockerfile:4-5
--------------------
   1 |     FROM busybox
   2 |     WORKDIR /src
   3 |     COPY . .
   4 | >>> RUN make \
   5 | >>>     all
   6 |     RUN test
   7 |     CMD ["app"]
--------------------
`},
		{"last line", plan.Pos{File: "Containerfile", Line: 7}, `Containerfile:7
--------------------
   4 |     RUN make \
   5 |         all
   6 |     RUN test
   7 | >>> CMD ["app"]
--------------------
`},
		{"past the end", plan.Pos{File: "Dockerfile", Line: 9}, ""},
		{"no line", plan.Pos{File: "Dockerfile"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := excerpt(src, tt.pos); got != tt.want {
				t.Errorf("excerpt:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestNewRendererOffTerminal checks which output each --progress mode gives
// when stderr is not a terminal (a buffer here).
func TestNewRendererOffTerminal(t *testing.T) {
	ev := progress.Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Kind: progress.StepStarted, ID: 1, StageName: "build", Step: 1, Steps: 2, Text: "RUN make"}
	tests := []struct {
		mode  string
		quiet bool
		env   string
		want  string
	}{
		{"auto", false, "", "#1 [build 1/2] RUN make\n"},
		{"tty", false, "", "#1 [build 1/2] RUN make\n"}, // falls back to plain lines
		{"plain", false, "", "#1 [build 1/2] RUN make\n"},
		{"json", false, "", `{"time":"2026-01-02T03:04:05Z","kind":"step.started","id":1,"stage":0,"stageName":"build","step":1,"steps":2,"text":"RUN make"}` + "\n"},
		{"rawjson", false, "", `{"time":"2026-01-02T03:04:05Z","kind":"step.started","id":1,"stage":0,"stageName":"build","step":1,"steps":2,"text":"RUN make"}` + "\n"},
		{"auto", true, "", ""},
		{"quiet", false, "", ""},
	}
	for _, tt := range tests {
		var b strings.Builder
		r := newRenderer(tt.mode, tt.quiet, &b, func(string) string { return tt.env })
		r.Emit(ev)
		if err := r.Close(nil); err != nil {
			t.Error(err)
		}
		if b.String() != tt.want {
			t.Errorf("--progress=%s quiet=%v wrote %q, want %q", tt.mode, tt.quiet, b.String(), tt.want)
		}
	}
}
