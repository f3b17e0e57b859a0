package dockerfile

import (
	"runtime"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/zbuild/zbuild/plan"
)

// defaultPlatform fills a zero platform with linux/runtime.GOARCH and
// normalises it the way containerd (and so BuildKit) does: aarch64 becomes
// arm64, arm gets its default variant v7, and so on.
func defaultPlatform(p plan.Platform) plan.Platform {
	if p.OS == "" && p.Architecture == "" {
		p = plan.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = runtime.GOARCH
	}
	return fromSpec(platforms.Normalize(toSpec(p)))
}

// parsePlatform parses a --platform value (os[/arch[/variant]]).
func parsePlatform(s string) (plan.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return plan.Platform{}, err
	}
	return fromSpec(platforms.Normalize(p)), nil
}

func toSpec(p plan.Platform) ocispec.Platform {
	return ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromSpec(p ocispec.Platform) plan.Platform {
	return plan.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}
