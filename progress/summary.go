package progress

import (
	"fmt"
	"strings"
	"time"
)

// Summary is what a finished build reports at its end: the library's
// result plus what the event stream counted.
type Summary struct {
	// Image is the image ID; Tags the names it got.
	Image string   `json:"image"`
	Tags  []string `json:"tags,omitempty"`
	// Size is the bytes of the image's blobs: config and compressed layers.
	Size int64 `json:"size"`
	// Layers is the image's layer count, NewLayers those this build wrote.
	Layers    int `json:"layers"`
	NewLayers int `json:"newLayers"`
	// Steps ran; Cached steps were served from the step cache.
	Steps  int `json:"steps"`
	Cached int `json:"cached"`
	// Duration is the build's wall time.
	Duration time.Duration `json:"duration"`
}

// Lines renders the summary as short "key value" lines, the same for the
// terminal view and the plain log.
func (s Summary) Lines() []string {
	tags := "<none>"
	if len(s.Tags) > 0 {
		tags = strings.Join(s.Tags, ", ")
	}
	return []string{
		"image   " + s.Image,
		"tags    " + tags,
		fmt.Sprintf("size    %s, %d layers; this build wrote %d", HumanSize(s.Size), s.Layers, s.NewLayers),
		fmt.Sprintf("steps   %d run, %d cached", s.Steps, s.Cached),
		"time    " + FormatDuration(s.Duration),
	}
}

// HumanSize formats bytes with binary units ("1.5 MiB"), as docker does for
// image sizes.
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// FormatDuration is a step or build time as people read it: "0.4s",
// "12.3s", "2m05s".
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
