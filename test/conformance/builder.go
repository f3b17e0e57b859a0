package conformance

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Builder is one implementation of Dockerfile semantics under test.
type Builder interface {
	// Name is the key of the implementation in expect.json ("native", …).
	Name() string
	// Build builds the case and returns the final image. The image must
	// stay readable until the suite has taken its snapshot.
	Build(ctx context.Context, c Case) (v1.Image, error)
}

// BuildError is a failed build with the builder's output, so a failure
// report shows why without re-running the case.
type BuildError struct {
	Builder string
	Err     error
	Output  string
}

func (e *BuildError) Error() string {
	return e.Builder + " build failed: " + e.Err.Error() + "\n" + tail(e.Output, 30)
}

func (e *BuildError) Unwrap() error { return e.Err }

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := splitLines(s)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += "    " + l + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
