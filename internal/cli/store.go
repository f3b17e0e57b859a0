package cli

import "github.com/zbuild/zbuild/internal/store"

// rootDir is --root, else the store's default.
func (g *globals) rootDir() string {
	if g.root != "" {
		return g.root
	}
	return store.DefaultRoot()
}
