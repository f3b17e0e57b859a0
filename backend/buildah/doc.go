// Package buildah runs a zbuild plan by driving the buildah command line
// (from, run, copy, add, config, commit), one working container per stage.
package buildah
