package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// run executes a RUN step in a fresh snapshot over the stage's layers.
func (b *build) run(ctx context.Context, sr *stageResult, step *plan.Step, ev progress.Event, key string) (int64, error) {
	r := step.Run
	cfg := &sr.cfg.Config
	env := append([]string(nil), cfg.Env...)
	// ENV takes precedence over ARG: a build arg only fills a name the
	// image environment does not define.
	for _, a := range r.BuildArgs {
		if _, ok := lookupEnv(env, a.Key); !ok {
			env = append(env, a.Key+"="+a.Value)
		}
	}
	network := r.Network
	if network == "" || network == "default" {
		network = b.req.Network
	}
	snap, err := b.prepare(ctx, sr)
	if err != nil {
		return 0, err
	}
	mounts, release, err := b.runMounts(ctx, r.Mounts, sr.platform)
	defer release()
	if err != nil {
		snap.Remove()
		return 0, err
	}
	out := &lineEmitter{emit: func(stream, line string) {
		e := ev
		e.Line, e.Stream = line, stream
		b.emit(e, progress.StepOutput)
	}}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	spec := linux.RunSpec{
		Args:     r.Args,
		Env:      env,
		Cwd:      cwd,
		User:     cfg.User,
		Network:  network,
		Hostname: "zbuild",
		Mounts:   mounts,
		Files:    r.Files,
		Stdout:   out.stream("stdout"),
		Stderr:   out.stream("stderr"),
		Insecure: r.Security == "insecure",
	}
	err = b.e.worker.Run(ctx, snap, spec)
	out.flush()
	if err != nil {
		snap.Remove()
		var ee *linux.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("process %q did not complete successfully: exit code %d", shellText(r.Args), ee.Code)
		}
		return 0, err
	}
	return b.commit(ctx, sr, snap, step, key)
}

// shellText is the command a user recognises: the script of a shell-form
// RUN, the argv otherwise.
func shellText(args []string) string {
	if len(args) == 3 && (args[1] == "-c" || args[1] == "/C") {
		return args[2]
	}
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}

// runMounts resolves RUN --mount entries to host paths. release frees cache
// locks and must be called whatever the outcome.
func (b *build) runMounts(ctx context.Context, ms []plan.Mount, p plan.Platform) ([]linux.Mount, func(), error) {
	var (
		out      []linux.Mount
		releases []func()
	)
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	sshN := 0
	for _, m := range ms {
		switch m.Type {
		case plan.MountCache:
			id := m.ID
			if id == "" {
				id = m.Target
			}
			uid, gid, mode := u32(m.UID, 0), u32(m.GID, 0), u32(m.Mode, 0o755)
			sharing := m.Sharing
			if sharing == "" {
				sharing = plan.SharingShared
			}
			dir, rel, err := b.e.worker.CacheMount(ctx, id, sharing, uid, gid, mode)
			if err != nil {
				return nil, release, fmt.Errorf("cache mount %s: %w", id, err)
			}
			releases = append(releases, rel)
			if sharing != plan.SharingPrivate {
				b.mu.Lock()
				if b.mounts == nil {
					b.mounts = map[string]bool{}
				}
				b.mounts[id] = true
				b.mu.Unlock()
			}
			if !m.From.IsZero() {
				return nil, release, fmt.Errorf("cache mount %s: seeding a cache with from= is not supported yet; drop from=", id)
			}
			out = append(out, linux.Mount{Type: linux.MountCache, Target: m.Target, Source: dir, ReadOnly: m.ReadOnly})
		case plan.MountBind:
			root, err := b.sourceRoot(ctx, m.From, p)
			if err != nil {
				return nil, release, err
			}
			src, err := securejoin.SecureJoin(root, m.Source)
			if err != nil {
				return nil, release, fmt.Errorf("bind mount source %s: %w", m.Source, err)
			}
			if _, err := os.Stat(src); err != nil {
				return nil, release, fmt.Errorf("bind mount source %s: %w", m.Source, err)
			}
			out = append(out, linux.Mount{Type: linux.MountBind, Target: m.Target, Source: src, ReadOnly: m.ReadOnly})
		case plan.MountTmpfs:
			out = append(out, linux.Mount{Type: linux.MountTmpfs, Target: m.Target, Size: m.Size})
		case plan.MountSecret:
			id := m.ID
			if id == "" {
				id = path.Base(m.Target)
			}
			data, ok := b.req.Secrets[id]
			if !ok {
				if m.Required {
					return nil, release, fmt.Errorf("secret %q is required but was not given (pass --secret id=%s,src=FILE)", id, id)
				}
				continue
			}
			target := m.Target
			if target == "" && m.Env == "" {
				target = "/run/secrets/" + id
			}
			out = append(out, linux.Mount{Type: linux.MountSecret, Target: target, Env: m.Env, SecretData: data,
				UID: u32(m.UID, 0), GID: u32(m.GID, 0), Mode: u32(m.Mode, 0o400)})
		case plan.MountSSH:
			id := m.ID
			if id == "" {
				id = "default"
			}
			sock, ok := b.req.SSH[id]
			if !ok {
				if m.Required {
					return nil, release, fmt.Errorf("ssh agent %q is required but was not given (pass --ssh %s)", id, id)
				}
				continue
			}
			target := m.Target
			if target == "" {
				target = "/run/buildkit/ssh_agent." + strconv.Itoa(sshN)
			}
			sshN++
			out = append(out, linux.Mount{Type: linux.MountSSH, Target: target, Source: sock,
				UID: u32(m.UID, 0), GID: u32(m.GID, 0), Mode: u32(m.Mode, 0o600)})
		default:
			return nil, release, fmt.Errorf("unsupported mount type %q", m.Type)
		}
	}
	return out, release, nil
}

func u32(p *uint32, def uint32) uint32 {
	if p == nil {
		return def
	}
	return *p
}

// lineEmitter turns process output into one event per line.
type lineEmitter struct {
	mu   sync.Mutex
	emit func(stream, line string)
	bufs map[string]*bytes.Buffer
}

type streamWriter struct {
	l    *lineEmitter
	name string
}

func (l *lineEmitter) stream(name string) *streamWriter { return &streamWriter{l: l, name: name} }

func (w *streamWriter) Write(p []byte) (int, error) {
	l := w.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bufs == nil {
		l.bufs = map[string]*bytes.Buffer{}
	}
	buf := l.bufs[w.name]
	if buf == nil {
		buf = &bytes.Buffer{}
		l.bufs[w.name] = buf
	}
	buf.Write(p)
	for {
		i := bytes.IndexByte(buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(buf.Next(i + 1))
		l.emit(w.name, line[:len(line)-1])
	}
	return len(p), nil
}

func (l *lineEmitter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, buf := range l.bufs {
		if buf.Len() > 0 {
			l.emit(name, buf.String())
			buf.Reset()
		}
	}
}
