// Package output writes a built image to the destinations of --output:
// an OCI layout (directory or tar), a docker-load tar, or the flattened
// root file system (tar or directory). Tagging into the local store is the
// caller's.
package output
