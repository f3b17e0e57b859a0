package cli

import "github.com/zbuild/zbuild/build"

// rootDir is --root, else the store's default.
func (g *globals) rootDir() string {
	if g.root != "" {
		return g.root
	}
	return build.DefaultRoot()
}
