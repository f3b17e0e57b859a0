package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/userdb"
	"github.com/zbuild/zbuild/plan"
)

// applyMeta applies a config step's changes to the image config.
func applyMeta(sr *stageResult, c *plan.Config) {
	cfg := &sr.cfg.Config
	for _, kv := range c.Env {
		cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
	}
	if len(c.Labels) > 0 && cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for _, kv := range c.Labels {
		cfg.Labels[kv.Key] = kv.Value
	}
	if len(c.ExposedPorts) > 0 && cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range c.ExposedPorts {
		cfg.ExposedPorts[p] = struct{}{}
	}
	if len(c.Volumes) > 0 && cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		cfg.Volumes[v] = struct{}{}
	}
	if c.User != nil {
		cfg.User = *c.User
	}
	if c.Shell != nil {
		cfg.Shell = c.Shell
	}
	if c.Cmd != nil {
		cfg.Cmd = nilIfEmpty(*c.Cmd)
	}
	if c.Entrypoint != nil {
		cfg.Entrypoint = nilIfEmpty(*c.Entrypoint)
	}
	if h := c.Healthcheck; h != nil {
		cfg.Healthcheck = &v1.HealthConfig{
			Test: h.Test, Interval: time.Duration(h.Interval), Timeout: time.Duration(h.Timeout),
			StartPeriod: time.Duration(h.StartPeriod), Retries: h.Retries,
		}
	}
	if c.StopSignal != "" {
		cfg.StopSignal = c.StopSignal
	}
	cfg.OnBuild = append(cfg.OnBuild, c.OnBuild...)
	if c.Maintainer != "" {
		sr.cfg.Author = c.Maintainer
	}
	if c.Workdir != nil {
		cfg.WorkingDir = *c.Workdir
	}
}

// makesLayer reports whether a config step touches the file system: only a
// Linux WORKDIR does (the HCS worker creates Windows directories itself).
func makesLayer(sr *stageResult, c *plan.Config) bool {
	return c.Workdir != nil && sr.cfg.OS != "windows"
}

// workdir creates the WORKDIR directory when missing, owned by the current
// USER as BuildKit does, without running anything: it works on images
// without a mkdir binary.
func (b *build) workdir(ctx context.Context, sr *stageResult, step *plan.Step, key string) (int64, error) {
	snap, err := b.prepare(ctx, sr)
	if err != nil {
		return 0, err
	}
	if err := mkdirOwned(snap.Merged, *step.Config.Workdir, sr.cfg.Config.User); err != nil {
		snap.Remove()
		return 0, err
	}
	return b.commit(ctx, sr, snap, step, key)
}

// mkdirOwned creates dir (and missing parents) inside rootfs, resolving
// symlinks within rootfs; new directories are 0755 and owned by user.
func mkdirOwned(rootfs, dir, user string) error {
	id, err := userdb.Resolve(rootfs, user)
	if err != nil {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	// Walk down so that only the directories we create get the owner.
	cur := "/"
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		cur = strings.TrimSuffix(cur, "/") + "/" + part
		p, err := securejoin.SecureJoin(rootfs, cur)
		if err != nil {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("WORKDIR %s: %s exists and is not a directory", dir, cur)
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
		if err := os.Lchown(p, int(id.UID), int(id.GID)); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
	}
	return nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// setEnv replaces or appends KEY=value, keeping the order of first definition.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out := append([]string(nil), env...)
			out[i] = key + "=" + value
			return out
		}
	}
	return append(append([]string(nil), env...), key+"="+value)
}

// lookupEnv finds key in a KEY=value list.
func lookupEnv(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// copyConfig deep-copies a config file (maps, slices) through JSON.
func copyConfig(c *v1.ConfigFile) (*v1.ConfigFile, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("copying image config: %w", err)
	}
	var out v1.ConfigFile
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("copying image config: %w", err)
	}
	return &out, nil
}
