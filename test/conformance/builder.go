package conformance

import (
	"context"
	"strings"

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

// tail keeps the last n lines of s, indented under the error.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}
