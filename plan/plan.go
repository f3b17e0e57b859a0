package plan

import "strings"

// Graph is a whole build: stages in source order, and the one whose result
// is the image. Stages that Target does not (transitively) need are still
// listed, so tools can show them; Needed tells the engine which to run.
type Graph struct {
	// Stages in the order the source declares them; Stage.Index is the
	// position in this slice.
	Stages []Stage `json:"stages"`
	// Target is the index of the stage whose result is the output image.
	Target int `json:"target"`
	// Context describes how the build context is read.
	Context Context `json:"context"`
}

// Context says which files of the build context the steps may see.
type Context struct {
	// Exclude holds .dockerignore-style patterns (moby/patternmatcher
	// syntax) already read from the ignore file; nil means none.
	Exclude []string `json:"exclude,omitempty"`
	// IgnoreFile names the file the patterns came from, for messages.
	IgnoreFile string `json:"ignoreFile,omitempty"`
}

// Stage is one FROM … block: a base and the steps applied on top of it.
type Stage struct {
	Index int `json:"index"`
	// Name is the lower-cased stage name (`AS name`), or "".
	Name     string   `json:"name,omitempty"`
	Base     Base     `json:"base"`
	Platform Platform `json:"platform"`
	Steps    []Step   `json:"steps"`
	// Pos is where the stage starts (its FROM line).
	Pos Pos `json:"pos"`
}

// BaseKind says what a stage starts from.
type BaseKind string

const (
	// BaseImage is an image reference, resolved by the engine (store, then registry).
	BaseImage BaseKind = "image"
	// BaseScratch is an empty root file system and an empty config.
	BaseScratch BaseKind = "scratch"
	// BaseStage is the result of an earlier stage of the same graph.
	BaseStage BaseKind = "stage"
	// BaseOCILayout is an image in an OCI layout directory (oci-layout://DIR[:tag]).
	BaseOCILayout BaseKind = "oci-layout"
)

// Base is what a stage starts from.
type Base struct {
	Kind BaseKind `json:"kind"`
	// Ref is the image reference (BaseImage) or the layout directory and
	// optional tag (BaseOCILayout, "DIR" or "DIR:tag"); "" otherwise.
	Ref string `json:"ref,omitempty"`
	// Stage is the index of the stage (BaseStage); 0 otherwise.
	Stage int `json:"stage,omitempty"`
}

// Platform is an OCI platform (os/arch[/variant]).
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// String formats p as os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Pos is a place in a source file. Lines are 1-based; Column is 1-based
// and 0 when unknown.
type Pos struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	EndLine int    `json:"endLine,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// Step is one instruction: exactly one of Run, Copy, Add or Config is set.
// It is a tagged union rather than an interface so that the plan encodes
// to JSON as plain data and every reader sees the concrete types.
type Step struct {
	// Text is the instruction as written (after line continuations are
	// joined), e.g. "RUN apt-get update"; used in history and progress.
	Text string `json:"text"`
	Pos  Pos    `json:"pos"`
	// OnBuild is set for steps that ONBUILD triggers of the base image added.
	OnBuild bool `json:"onbuild,omitempty"`

	Run    *Run    `json:"run,omitempty"`
	Copy   *Copy   `json:"copy,omitempty"`
	Add    *Add    `json:"add,omitempty"`
	Config *Config `json:"config,omitempty"`
}

// Kind names the step's variant: "run", "copy", "add", "config" or "" when
// none (or more than one) is set.
func (s *Step) Kind() string {
	kind, n := "", 0
	if s.Run != nil {
		kind, n = "run", n+1
	}
	if s.Copy != nil {
		kind, n = "copy", n+1
	}
	if s.Add != nil {
		kind, n = "add", n+1
	}
	if s.Config != nil {
		kind, n = "config", n+1
	}
	if n != 1 {
		return ""
	}
	return kind
}

// Instruction is the step's leading keyword in upper case ("RUN", "ENV"…).
func (s *Step) Instruction() string {
	word, _, _ := strings.Cut(strings.TrimSpace(s.Text), " ")
	return strings.ToUpper(word)
}

// KV is one ordered name=value pair.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// InlineFile is a file whose content is written in the source (a heredoc).
type InlineFile struct {
	// Name is the heredoc's file name: the delimiter for RUN heredocs, the
	// destination-relative name for COPY/ADD heredocs.
	Name string `json:"name"`
	Data string `json:"data"`
	// Mode is the file mode; 0 means the step's default (0644 for COPY, 0755
	// for RUN scripts).
	Mode uint32 `json:"mode,omitempty"`
}
