package conformance

import (
	"context"
	"path/filepath"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/progress"
)

// Zbuild builds cases with build.Run, on the native engine or on zbuild's
// buildah backend.
type Zbuild struct {
	// Root is the zbuild store; for the native engine it must hold Base.
	Root string
	// Base is the reference every case gets as build-arg BASE.
	Base string
	// Backend is build.BackendNative or build.BackendBuildah.
	Backend string
}

// Name implements Builder: "native" or "buildah-backend".
func (n *Zbuild) Name() string {
	if n.Backend == build.BackendBuildah {
		return "buildah-backend"
	}
	return "native"
}

// Build implements Builder.
func (n *Zbuild) Build(ctx context.Context, c Case) (v1.Image, error) {
	args := map[string]string{"BASE": n.Base}
	for k, v := range c.BuildArgs {
		args[k] = v
	}
	var secrets []build.Secret
	for _, id := range sortedKeys(c.Secrets) {
		secrets = append(secrets, build.Secret{ID: id, Src: filepath.Join(c.Dir, c.Secrets[id])})
	}
	out := &lines{}
	res, err := build.Run(ctx, build.Options{
		ContextDir: c.Dir,
		BuildArgs:  args,
		Target:     c.Target,
		Root:       n.Root,
		Backend:    n.Backend,
		Secrets:    secrets,
		Tags:       []string{"conformance/" + c.Name + ":" + n.Name()},
		Progress:   out,
	})
	if err != nil {
		return nil, &BuildError{Builder: n.Name(), Err: err, Output: out.String()}
	}
	return res.Image, nil
}

// lines keeps a build's output lines for error reports.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Emit(e progress.Event) {
	if e.Kind != progress.StepOutput && e.Kind != progress.Warning {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(e.Line + "\n")
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
