// Package conformance builds a corpus of Dockerfiles with several independent
// implementations (zbuild's native engine and buildah backend, buildah's own
// Dockerfile builder, Docker's BuildKit through a private dockerd) and
// compares the resulting root file systems and image configs.
package conformance
