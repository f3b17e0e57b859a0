// Package fetch brings ADD's remote sources to the host: it downloads
// http(s) files and clones git repositories into directories that package
// copier then copies from; deciding what to fetch is the engine's job.
package fetch
