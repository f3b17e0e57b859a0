// Package conformance builds a corpus of Dockerfiles with several independent
// implementations (zbuild's native engine, buildah's own Dockerfile builder)
// and compares the resulting root file systems and image configs.
package conformance
