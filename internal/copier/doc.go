// Package copier writes the sources of a COPY or ADD step (local paths,
// globs, heredocs and local archives) into a container root file system with
// Docker's (BuildKit's) semantics, never reading outside the source root nor
// writing outside the destination root; fetching URLs and git repositories is
// left to package fetch.
package copier
