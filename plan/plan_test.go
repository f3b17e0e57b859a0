package plan

import (
	"bytes"
	"strings"
	"testing"
)

func str(s string) *string { return &s }

func linux() Platform { return Platform{OS: "linux", Architecture: "amd64"} }

func TestValidate(t *testing.T) {
	run := func(args ...string) Step { return Step{Text: "RUN x", Run: &Run{Args: args}} }
	tests := []struct {
		name    string
		g       Graph
		wantErr string
	}{
		{name: "ok", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseImage, Ref: "busybox"}, Platform: linux(), Steps: []Step{run("true")}}}}},
		{name: "no stages", g: Graph{}, wantErr: "no stages"},
		{name: "target out of range", g: Graph{Target: 3, Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux()}}}, wantErr: "target 3"},
		{name: "forward stage base", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseStage, Stage: 0}, Platform: linux()}}}, wantErr: "not an earlier stage"},
		{name: "empty step", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{{Text: "X"}}}}}, wantErr: "exactly one"},
		{name: "two variants", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{{Run: &Run{Args: []string{"a"}}, Config: &Config{}}}}}}, wantErr: "exactly one"},
		{name: "empty run", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{run()}}}}, wantErr: "no command"},
		{name: "bad mount", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{{Run: &Run{Args: []string{"a"}, Mounts: []Mount{{Type: "nfs", Target: "/x"}}}}}}}}, wantErr: "unknown mount type"},
		{name: "relative workdir", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{{Config: &Config{Workdir: str("app")}}}}}}, wantErr: "not absolute"},
		{name: "windows workdir", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: Platform{OS: "windows", Architecture: "amd64"}, Steps: []Step{{Config: &Config{Workdir: str(`C:\app`)}}}}}}},
		{name: "copy from later stage", g: Graph{Stages: []Stage{{Base: Base{Kind: BaseScratch}, Platform: linux(), Steps: []Step{{Copy: &Copy{From: From{Kind: FromStage, Stage: 1}, Transfer: Transfer{Sources: []string{"a"}, Dest: "/"}}}}}, {Index: 1, Base: Base{Kind: BaseScratch}, Platform: linux()}}}, wantErr: "not an earlier stage"},
		{name: "duplicate names", g: Graph{Stages: []Stage{{Name: "a", Base: Base{Kind: BaseScratch}, Platform: linux()}, {Index: 1, Name: "a", Base: Base{Kind: BaseScratch}, Platform: linux()}}}, wantErr: "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNeeded(t *testing.T) {
	g := Graph{Target: 3, Stages: []Stage{
		{Index: 0, Base: Base{Kind: BaseImage, Ref: "a"}},
		{Index: 1, Base: Base{Kind: BaseImage, Ref: "unused"}},
		{Index: 2, Base: Base{Kind: BaseStage, Stage: 0}},
		{Index: 3, Base: Base{Kind: BaseScratch}, Steps: []Step{
			{Copy: &Copy{From: From{Kind: FromStage, Stage: 2}}},
			{Run: &Run{Args: []string{"x"}, Mounts: []Mount{{Type: MountBind, Target: "/m", From: From{Kind: FromStage, Stage: 0}}}}},
		}},
	}}
	got := g.Needed()
	want := []int{0, 2, 3}
	if len(got) != len(want) {
		t.Fatalf("Needed() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Needed() = %v, want %v", got, want)
		}
	}
}

func TestCanonicalIgnoresPosition(t *testing.T) {
	a := Step{Text: "RUN  make", Pos: Pos{File: "Dockerfile", Line: 3}, Run: &Run{Args: []string{"/bin/sh", "-c", "make"}}}
	b := Step{Text: "RUN make", Pos: Pos{File: "other", Line: 9}, Run: &Run{Args: []string{"/bin/sh", "-c", "make"}}}
	if !bytes.Equal(a.Canonical(), b.Canonical()) || a.Digest() != b.Digest() {
		t.Fatalf("position changed the canonical encoding:\n%s\n%s", a.Canonical(), b.Canonical())
	}
	c := b
	c.Run = &Run{Args: []string{"/bin/sh", "-c", "make"}, BuildArgs: []KV{{Key: "V", Value: "1"}}}
	if a.Digest() == c.Digest() {
		t.Fatal("a build arg did not change the digest")
	}
	if !strings.HasPrefix(a.Digest(), "sha256:") {
		t.Fatalf("digest %q lacks algorithm", a.Digest())
	}
}

func TestStepKindAndInstruction(t *testing.T) {
	s := Step{Text: "copy --from=x a b", Copy: &Copy{}}
	if s.Kind() != "copy" || s.Instruction() != "COPY" {
		t.Fatalf("Kind()=%q Instruction()=%q", s.Kind(), s.Instruction())
	}
	if (&Step{}).Kind() != "" {
		t.Fatal("empty step has a kind")
	}
}
