package buildah

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/zbuild/zbuild/plan"
)

// ImageConfig is what a Dockerfile conversion needs of a base image.
type ImageConfig struct {
	Env        []string
	WorkingDir string
	Shell      []string
	User       string
	OnBuild    []string
	OS         string
}

// ResolveImageConfig pulls ref into buildah's storage (by pull policy:
// "missing", "always" or "never") and reads its configuration. A ref
// "oci-layout://DIR[:tag]" is read from that layout.
func (c *CLI) ResolveImageConfig(ctx context.Context, ref string, platform plan.Platform, pull string) (ImageConfig, error) {
	var src string
	if dir, ok := strings.CutPrefix(ref, "oci-layout://"); ok {
		src = "oci:" + dir
		pull = "missing"
	} else {
		src = ref
	}
	policy, err := pullFlag(pull)
	if err != nil {
		return ImageConfig{}, err
	}
	args := []string{"pull", "--quiet", "--policy", policy}
	if platform.OS != "" {
		args = append(args, "--platform", platform.String())
	}
	if plainHTTP(ref) {
		args = append(args, "--tls-verify=false")
	}
	id, err := c.Output(ctx, append(args, src)...)
	if err != nil {
		return ImageConfig{}, fmt.Errorf("pulling %s: %w", ref, err)
	}
	out, err := c.Output(ctx, "inspect", "--type", "image", lastLine(id))
	if err != nil {
		return ImageConfig{}, err
	}
	return parseImageInspect([]byte(out))
}

// parseImageInspect reads `buildah inspect --type image` output. The Docker
// form of the config carries Shell and OnBuild, which OCI configs lack.
func parseImageInspect(data []byte) (ImageConfig, error) {
	var info struct {
		Docker struct {
			OS     string `json:"os"`
			Config struct {
				Env        []string
				WorkingDir string
				Shell      []string
				User       string
				OnBuild    []string
			} `json:"config"`
		} `json:"Docker"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return ImageConfig{}, fmt.Errorf("reading buildah inspect output: %w", err)
	}
	c := info.Docker.Config
	return ImageConfig{Env: c.Env, WorkingDir: c.WorkingDir, Shell: c.Shell, User: c.User, OnBuild: c.OnBuild, OS: info.Docker.OS}, nil
}
