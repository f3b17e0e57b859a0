package dockerfile

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"
	mode "github.com/tonistiigi/dchapes-mode"

	"github.com/zbuild/zbuild/plan"
)

// copyStep converts COPY. from was resolved when the stage was scanned.
func (c *converter) copyStep(s *stage, cmd *instructions.CopyCommand, from plan.From) (*plan.Copy, error) {
	switch from.Kind {
	case plan.FromStage:
		if from.Stage >= s.index {
			return nil, c.errorAt(cmd.Location(), fmt.Errorf("cannot copy from stage %q, it needs to be defined before current stage %q", cmd.From, s.displayName()), "--from")
		}
	case plan.FromImage:
		if from.Ref == scratchName {
			return nil, c.errorAt(cmd.Location(), unsupported("COPY --from=scratch (an empty file system) is not supported by zbuild"), "--from")
		}
		if _, err := reference.ParseNormalizedNamed(from.Ref); err != nil {
			return nil, c.errorAt(cmd.Location(), fmt.Errorf("invalid image reference %q in --from: %w", from.Ref, err), "--from")
		}
	}
	for _, src := range cmd.SourcePaths {
		if isHTTPSource(src) {
			return nil, errors.New("source can't be a URL for COPY")
		}
		if isGitSource(src) {
			return nil, errors.New("source can't be a git ref for COPY")
		}
	}
	t, err := transfer(cmd.SourcesAndDest, cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns)
	if err != nil {
		return nil, err
	}
	t.Parents = cmd.Parents
	return &plan.Copy{From: from, Transfer: t}, nil
}

// addStep converts ADD.
func addStep(cmd *instructions.AddCommand) (*plan.Add, error) {
	if cmd.Checksum != "" {
		if len(cmd.SourcePaths) != 1 {
			return nil, errors.New("checksum can't be specified for multiple sources")
		}
		src := cmd.SourcePaths[0]
		switch {
		case isHTTPSource(src):
			if _, err := digest.Parse(cmd.Checksum); err != nil {
				return nil, fmt.Errorf("invalid checksum %q: %w", cmd.Checksum, err)
			}
		case isGitSource(src):
		default:
			return nil, errors.New("checksum requires HTTP(S) or Git sources")
		}
	}
	for _, src := range cmd.SourcePaths {
		// A malformed git URL is an error here rather than a failed fetch.
		if _, isGit, err := dfgitutil.ParseGitRef(src); isGit && err != nil {
			return nil, err
		}
	}
	t, err := transfer(cmd.SourcesAndDest, cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns)
	if err != nil {
		return nil, err
	}
	a := &plan.Add{Transfer: t, Checksum: cmd.Checksum, Unpack: cmd.Unpack}
	if cmd.KeepGitDir != nil {
		a.KeepGitDir = *cmd.KeepGitDir
	}
	return a, nil
}

// transfer is what COPY and ADD share. Paths are kept as written (after
// expansion): the engine resolves them against the context or source and
// the working directory.
func transfer(sd instructions.SourcesAndDest, chown, chmod string, link bool, exclude []string) (plan.Transfer, error) {
	if chown != "" && link && chownByName(chown) {
		return plan.Transfer{}, fmt.Errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", chown)
	}
	if err := validateChmod(chmod); err != nil {
		return plan.Transfer{}, err
	}
	t := plan.Transfer{
		Sources: slices.Clone(sd.SourcePaths),
		Dest:    sd.DestPath,
		Chown:   chown,
		Chmod:   chmod,
		Link:    link,
		Exclude: slices.Clone(exclude),
	}
	for _, sc := range sd.SourceContents {
		t.Inline = append(t.Inline, plan.InlineFile{Name: sc.Path, Data: sc.Data})
	}
	return t, nil
}

// validateChmod accepts an octal mode up to 07777 or a symbolic one.
func validateChmod(chmod string) error {
	if chmod == "" {
		return nil
	}
	bad := fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", chmod)
	if p, err := strconv.ParseUint(chmod, 8, 32); err == nil {
		if p > 0o7777 {
			return bad
		}
		return nil
	}
	if _, err := mode.Parse(chmod); err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			// It looks numeric: say what BuildKit says.
			return bad
		}
		return fmt.Errorf("invalid chmod parameter %q: %w", chmod, err)
	}
	return nil
}

// chownByName reports whether user[:group] names a user or group by name;
// names cannot be resolved in a --link layer, which has no /etc/passwd.
func chownByName(chown string) bool {
	user, group, _ := strings.Cut(chown, ":")
	for _, part := range []string{user, group} {
		if part == "" {
			continue
		}
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return true
		}
	}
	return false
}

func isHTTPSource(src string) bool {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return false
	}
	return !isGitSource(src)
}

// isGitSource reports a git URL (https://host/repo.git, git@host:repo…).
func isGitSource(src string) bool {
	ref, isGit, _ := dfgitutil.ParseGitRef(src)
	return ref != nil && isGit
}
